"""``tests/unit/test_services_messages_page.py`` on PostgreSQL (see this directory's conftest)."""

from unit.test_services_messages_page import *  # noqa: F403
