"""``tests/unit/test_services_messages.py`` on PostgreSQL (see this directory's conftest)."""

from unit.test_services_messages import *  # noqa: F403
