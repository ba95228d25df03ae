"""Doctor checks for our own state: the database schema and the media store.

Asking whether a SQLite database is current must not create it (an empty
file would then look like a database that was never migrated), so a missing
file is reported as such before any connection is made.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from voicestatus.config import Config
from voicestatus.doctor.findings import Finding
from voicestatus.errors import VoiceStatusError
from voicestatus.storage.database import current_revision, head_revision, make_engine

START_FIX = "start the service once (voicestatus serve or systemctl start voicestatus): it migrates on start"


async def check_database(config: Config) -> Finding:
    url = config.database.url
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if not await asyncio.to_thread(os.path.isfile, path):
            return Finding("database", "fail", f"database {path} does not exist yet", START_FIX)
    fix = "check [database] url and that the database server is running"
    try:
        engine = make_engine(url)
    except Exception as exc:  # a URL SQLAlchemy cannot parse (e.g. a bad port)
        return Finding("database", "fail", f"cannot use [database] url: {exc.__class__.__name__}: {exc}", fix)
    try:
        current = await current_revision(engine)
    except Exception as exc:  # any driver's connection error
        return Finding("database", "fail", f"cannot open the database: {exc.__class__.__name__}: {exc}", fix)
    finally:
        await engine.dispose()
    head = head_revision()
    if current != head:
        return Finding(
            "database", "fail", f"schema at {current or 'nothing'}, this version needs {head}", START_FIX
        )
    return Finding("database", "ok", f"schema is current ({head})")


async def check_media_store(config: Config) -> Finding:
    from voicestatus.storage.media import MediaStore

    root = Path(config.media.dir)
    fix = f"mkdir -p {root} && chown voicestatus: {root} (the user the service runs as)"
    if not await asyncio.to_thread(os.path.isdir, root):
        return Finding("media-store", "fail", f"media directory {root} does not exist", fix)
    try:
        await asyncio.to_thread(lambda: MediaStore(root).check_writable())
    except VoiceStatusError as exc:
        return Finding("media-store", "fail", exc.message, fix)
    return Finding("media-store", "ok", f"{root} is writable")
