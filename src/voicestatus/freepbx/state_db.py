"""Our own database, opened for a command that may be a dry run.

A dry run promises that nothing changes, and that includes this machine:
``Database(url).migrate()`` would create the SQLite file (and its directory)
on a fresh install and upgrade an old schema. So a dry run reads an existing
SQLite database read-only, uses none when there is no file yet (nothing is
saved or imported then), and never migrates.
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import quote

from sqlalchemy.ext.asyncio import create_async_engine

from voicestatus.storage.database import Database

_SQLITE = "sqlite:///"


async def open_database(url: str, *, dry_run: bool) -> Database | None:
    """Migrated for a real run; read-only, unmigrated or None for a dry run."""
    if not dry_run:
        db = Database(url)
        try:
            await db.migrate()
        except BaseException:
            await db.close()
            raise
        return db
    if not url.startswith(_SQLITE):
        return Database(url)
    path = await asyncio.to_thread(os.path.abspath, url[len(_SQLITE) :])
    if not await asyncio.to_thread(os.path.isfile, path):
        return None
    engine = create_async_engine(f"sqlite+aiosqlite:///file:{quote(path)}?mode=ro&uri=true")
    return Database(url, engine=engine)
