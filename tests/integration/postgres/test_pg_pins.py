"""``tests/unit/test_pins.py`` on PostgreSQL (see this directory's conftest)."""

from unit.test_pins import *  # noqa: F403
