"""Engine, sessions and migrations for SQLite and PostgreSQL behind one contract.

Users write ``sqlite:///path`` or ``postgresql://...`` in the config; the async
driver is an internal choice made here. On SQLite every connection gets WAL
(readers never wait for the writer), foreign keys and a busy timeout, and write
transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the lock
instead of deadlocking when both upgrade from a read. On PostgreSQL the
services serialise writers per operator with ``SELECT ... FOR UPDATE``.

Migrations ship inside the package (``storage/migrations``) and run
programmatically, so an installed wheel can upgrade its own database.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from voicestatus.errors import ConfigError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 10_000
_WRITE_OPTION = "voicestatus_write"
# Any constant works; it only has to be the same for every instance.
_PG_MIGRATION_LOCK = 0x766F6963


def driver_url(url: str) -> str:
    """Translate a public database URL into its SQLAlchemy async form."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ConfigError("database url must be sqlite:///path or postgresql://...")


def make_engine(url: str) -> AsyncEngine:
    """An async engine for a public URL, with the per-backend settings above."""
    async_url = driver_url(url)
    if async_url.startswith("sqlite"):
        path = async_url[len("sqlite+aiosqlite:///") :]
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(async_url)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(async_url, pool_pre_ping=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (see module doc).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """The engine plus session factories; one per process, closed on shutdown."""

    def __init__(self, url: str, *, engine: AsyncEngine | None = None) -> None:
        self.url = url
        self.engine = engine if engine is not None else make_engine(url)
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write = async_sessionmaker(
            self.engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        """A session for reading (use as ``async with db.session() as s``)."""
        return self._read()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed on exit, rolled back on error."""
        async with self._write() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Raise if the database does not answer a trivial query (for health reports)."""
        async with self.session() as session:
            await session.execute(text("SELECT 1"))

    async def migrate(self) -> None:
        """Upgrade this database's schema to the newest revision."""
        await _upgrade(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    """The newest migration this version of the software ships."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""

    def _read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_read)


async def _upgrade(engine: AsyncEngine) -> None:
    from alembic import command

    cfg = _alembic_config()

    def _run(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            # Several instances may start together; one migrates, the rest wait.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        before = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
        await conn.run_sync(_run)
    logger.info("database schema at %s (was %s)", head_revision(), before)


async def migrate(url: str) -> None:
    """Create or upgrade the schema at ``url`` to head."""
    engine = make_engine(url)
    try:
        await _upgrade(engine)
    finally:
        await engine.dispose()
