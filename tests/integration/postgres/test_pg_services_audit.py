"""``tests/unit/test_services_audit.py`` on PostgreSQL (see this directory's conftest)."""

from unit.test_services_audit import *  # noqa: F403
