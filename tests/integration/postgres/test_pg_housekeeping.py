"""``tests/unit/test_housekeeping.py`` on PostgreSQL (see this directory's conftest)."""

from unit.test_housekeeping import *  # noqa: F403
