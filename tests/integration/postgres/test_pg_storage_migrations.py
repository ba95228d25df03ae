"""``tests/unit/test_storage_migrations.py`` on PostgreSQL (see this directory's conftest)."""

from unit.test_storage_migrations import *  # noqa: F403
