"""The schema: migrations create it, match the models, and the engine is set up per backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from voicestatus.errors import ConfigError
from voicestatus.storage import (
    Database,
    current_revision,
    driver_url,
    head_revision,
    make_engine,
    migrate,
)
from voicestatus.storage.models import Base, Message, Operator

TABLES = {
    "operators",
    "messages",
    "audit_log",
    "play_stats",
    "admins",
    "api_tokens",
    "web_sessions",
    "freepbx_saved_destinations",
    "legacy_imports",
    "pin_guards",
}


def test_public_urls_choose_async_drivers() -> None:
    assert driver_url("sqlite:///var/lib/vs.db") == "sqlite+aiosqlite:///var/lib/vs.db"
    assert driver_url("sqlite:////abs/vs.db") == "sqlite+aiosqlite:////abs/vs.db"
    assert driver_url("postgresql://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert driver_url("postgres://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    with pytest.raises(ConfigError):
        driver_url("mysql://u@h/db")


async def test_migrate_creates_every_table_in_a_new_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/deep/dir/vs.db"
    await migrate(url)
    await migrate(url)  # a second run is a no-op
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert TABLES | {"alembic_version"} == names
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_unmigrated_database_has_no_revision(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    try:
        assert await current_revision(engine) is None
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(db: Database) -> None:
    def diff(conn: Connection) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_constraint_names_follow_the_convention(db: Database) -> None:
    async with db.engine.connect() as conn:
        checks = await conn.run_sync(lambda c: inspect(c).get_check_constraints("operators"))
    assert [c["name"] for c in checks] == ["ck_operators_active_status_digit"]


async def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with db.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 10_000
    finally:
        await db.close()


async def test_timestamps_come_back_as_aware_utc(db: Database) -> None:
    plus3 = timezone(timedelta(hours=3))
    local = datetime(2030, 5, 1, 15, 0, tzinfo=plus3)
    async with db.transaction() as s:
        s.add(
            Operator(
                extension="101",
                enabled=True,
                message_enabled=True,
                created_at=local,
                updated_at=local,
                expires_at=local,
            )
        )
    async with db.session() as s:
        row = (await s.scalars(select(Operator))).one()
    assert row.created_at == local
    assert row.created_at.tzinfo is UTC
    assert row.created_at.hour == 12


async def test_naive_timestamps_are_refused(db: Database) -> None:
    naive = datetime(2030, 1, 1)

    async def store() -> None:
        async with db.transaction() as s:
            s.add(
                Operator(
                    extension="101", enabled=True, message_enabled=True, created_at=naive, updated_at=naive
                )
            )

    with pytest.raises(StatementError, match="naive datetime"):
        await store()


async def test_schema_allows_only_one_current_message_per_status(db: Database) -> None:
    now = datetime.now(UTC)

    def message(sha: str) -> Message:
        return Message(
            extension="101",
            status=1,
            sha256=sha,
            duration=2.0,
            talk_duration=1.5,
            created_at=now,
            created_by="cli:test",
            is_current=True,
        )

    async with db.transaction() as s:
        s.add(Operator(extension="101", enabled=True, message_enabled=True, created_at=now, updated_at=now))
        await s.flush()
        s.add(message("a" * 64))
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(message("b" * 64))


async def test_foreign_keys_are_enforced(db: Database) -> None:
    now = datetime.now(UTC)
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(
                Message(
                    extension="999",
                    status=1,
                    sha256="a" * 64,
                    duration=1.0,
                    talk_duration=1.0,
                    created_at=now,
                    created_by="cli:test",
                    is_current=True,
                )
            )
