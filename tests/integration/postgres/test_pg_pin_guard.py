"""``tests/unit/test_pin_guard.py`` on PostgreSQL (see this directory's conftest)."""

from unit.test_pin_guard import *  # noqa: F403
