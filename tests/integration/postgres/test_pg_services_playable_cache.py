"""``tests/unit/test_services_playable_cache.py`` on PostgreSQL (see this directory's conftest)."""

from unit.test_services_playable_cache import *  # noqa: F403
