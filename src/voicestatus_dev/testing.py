"""Helpers for tests that need a real database and a controllable clock.

``url_for_tests`` gives SQLite in a temporary directory by default; set
``VOICESTATUS_TEST_DATABASE_URL=postgresql://...`` to use a PostgreSQL database
instead, which ``fresh_database`` empties before each test. (The storage and
service tests run on both backends anyway, starting a private PostgreSQL.)
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from voicestatus.storage.database import Database
from voicestatus.storage.models import Base

TEST_DATABASE_URL_ENV = "VOICESTATUS_TEST_DATABASE_URL"


def url_for_tests(tmp_path: Path) -> str:
    """The URL tests should use: the environment's PostgreSQL, else a fresh SQLite file."""
    return os.environ.get(TEST_DATABASE_URL_ENV) or f"sqlite:///{tmp_path}/voicestatus.db"


async def fresh_database(url: str) -> Database:
    """An empty, fully migrated database at ``url``."""
    db = Database(url)
    if db.dialect != "sqlite":
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await db.migrate()
    return db


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now
