"""``tests/unit/test_services_operators.py`` on PostgreSQL (see this directory's conftest)."""

from unit.test_services_operators import *  # noqa: F403
