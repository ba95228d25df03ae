"""``tests/unit/test_services_play_counter.py`` on PostgreSQL (see this directory's conftest)."""

from unit.test_services_play_counter import *  # noqa: F403
