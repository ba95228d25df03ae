"""Fixtures for the service tests: a fresh SQLite database, a manual clock, services.

The unit tier needs no database server and no root: ``db`` is SQLite only.
The same test modules run on PostgreSQL from ``tests/integration/postgres/``,
whose conftest supplies a PostgreSQL ``db`` to the fixtures shared here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service_fixtures import clock, messages, ops
from voicestatus.storage import Database
from voicestatus_dev.testing import fresh_database

__all__ = ["clock", "db", "messages", "ops"]


@pytest.fixture(params=["sqlite"])
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty SQLite database (the parameter keeps test ids naming the backend)."""
    database = await fresh_database(f"sqlite:///{tmp_path}/voicestatus.db")
    try:
        yield database
    finally:
        await database.close()
