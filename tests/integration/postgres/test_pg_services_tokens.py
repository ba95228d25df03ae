"""``tests/unit/test_services_tokens.py`` on PostgreSQL (see this directory's conftest)."""

from unit.test_services_tokens import *  # noqa: F403
