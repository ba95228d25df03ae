"""Taking over a legacy installation: the pure-dialplan status messages voicestatus replaces.

A legacy installation keeps each operator's message as ``rec_<ext>.wav`` (recorded by
``Record()``, 8 kHz) and a flag ``op_alert/<ext>`` in AstDB: ``true`` plays
the message, ``false`` or missing does not. Each file becomes that operator's
message through :class:`MessageService`, so it is trimmed and normalised
like any recording; a ``false`` flag imports the message switched off, so
nothing an operator had silenced starts playing. The source file's sha256
is remembered (``legacy_imports``): running the import again is a no-op.
A dry run processes every file the same way (so it reports the same
refusals) but needs neither a message service nor our database: it stores
nothing and, on a fresh install, creates nothing.

File names and AstDB keys are untrusted: only extensions of 1..20 ASCII
digits that ``[operators] pattern`` allows are considered. The directory
belongs to ``asterisk`` and the import runs as root, so every file is opened
through :func:`voicestatus.safe_files.read_regular` (``O_NOFOLLOW|O_NONBLOCK``,
then ``fstat`` on the open descriptor): a symlink or FIFO named
``rec_<ext>.wav`` is skipped with the reason in the report, never followed
and never waited on, and the size is capped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from voicestatus.asterisk.ami import AmiClient
from voicestatus.audio.decode import decode_audio
from voicestatus.audio.errors import AudioRejected
from voicestatus.audio.process import ProcessedAudio, ProcessingSettings, process_recording
from voicestatus.safe_files import UnsafeFile, open_regular, read_regular
from voicestatus.services.audit import Actor
from voicestatus.services.clock import Clock, utcnow
from voicestatus.services.extensions import EXTENSION_PATTERN, is_valid_extension
from voicestatus.services.messages import MessageService
from voicestatus.storage.database import Database
from voicestatus.storage.models import LegacyImport

log = logging.getLogger(__name__)

FAMILY = "op_alert"
DEFAULT_SOUNDS_DIR = "/var/lib/asterisk/sounds/ru/custom"
MAX_FILE_BYTES = 50 * 1024 * 1024
_FILE_RE = re.compile(rf"rec_({EXTENSION_PATTERN})\.wav", re.ASCII)
_AMI_LINE = re.compile(r"\s*/op_alert/(\S+?)\s*:\s*(.*?)\s*$")


@dataclass(frozen=True)
class ImportItem:
    extension: str
    outcome: str  # "imported", "would import", "skipped"
    detail: str


@dataclass
class ImportReport:
    items: list[ImportItem] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for i in self.items if i.outcome == outcome)


def flags_from_astdb_file(path: Path) -> dict[str, str]:
    """``op_alert`` keys from Asterisk's ``astdb.sqlite3`` (opened read-only).

    The file is opened safely first (a regular file, no symlink, no FIFO)
    and SQLite is pointed at that open descriptor, so what it reads is the
    file that was checked.
    """
    fd = open_regular(path)
    try:
        conn = sqlite3.connect(f"file:/proc/self/fd/{fd}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT key, value FROM astdb WHERE key LIKE '/op_alert/%'").fetchall()
        finally:
            conn.close()
    finally:
        os.close(fd)
    return {str(k)[len("/op_alert/") :]: str(v) for k, v in rows}


async def flags_from_ami(ami: AmiClient) -> dict[str, str]:
    """``op_alert`` keys through AMI (``database show op_alert``)."""
    flags: dict[str, str] = {}
    for line in await ami.command("database", "show", FAMILY):
        match = _AMI_LINE.match(line)
        if match:
            flags[match.group(1)] = match.group(2)
    return flags


def recordings(directory: Path) -> dict[str, Path]:
    """Entries named ``rec_<ext>.wav`` directly in ``directory``, by extension.

    Whatever they are: :func:`_read_limited` decides, on the open file,
    whether one can be read, so a symlink or FIFO shows in the report with
    its reason instead of silently disappearing.
    """
    found: dict[str, Path] = {}
    for entry in sorted(directory.iterdir()):
        match = _FILE_RE.fullmatch(entry.name)
        if match:
            found[match.group(1)] = entry
    return found


Process = Callable[[bytes], Awaitable[ProcessedAudio]]


def audio_processor(settings: ProcessingSettings, max_seconds: float) -> Process:
    """Decode and process a file as an upload is (``MessageService.process_upload``), storing nothing."""

    async def process(data: bytes) -> ProcessedAudio:
        return await asyncio.to_thread(
            lambda: process_recording(decode_audio(data, max_seconds=max_seconds), settings)
        )

    return process


def _read_limited(path: Path) -> bytes:
    return read_regular(path, max_bytes=MAX_FILE_BYTES).data


def _order(ext: str) -> tuple[int, str]:
    return (len(ext), ext)


class LegacyImporter:
    """Imports a legacy installation's messages as operators' messages for one status."""

    def __init__(
        self,
        db: Database | None,
        messages: MessageService | None,
        *,
        process: Process,
        is_operator: Callable[[str], bool],
        status: int,
        actor: Actor,
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.messages = messages
        self.process = process
        self.is_operator = is_operator
        self.status = status
        self.actor = actor
        self.clock = clock

    async def run(
        self,
        flags: dict[str, str],
        files: dict[str, Path],
        *,
        dry_run: bool = False,
        progress: Callable[[ImportItem], None] | None = None,
    ) -> ImportReport:
        report = ImportReport()
        for ext in sorted(set(flags) | set(files), key=_order):
            item = await self._one(ext, flags.get(ext), files.get(ext), dry_run)
            report.items.append(item)
            if progress is not None:
                progress(item)
        return report

    async def _one(self, ext: str, flag: str | None, path: Path | None, dry_run: bool) -> ImportItem:
        if not is_valid_extension(ext):
            return ImportItem(repr(ext)[:40], "skipped", "not an extension")
        if not self.is_operator(ext):
            return ImportItem(ext, "skipped", "not allowed by [operators] pattern")
        if path is None:
            return ImportItem(ext, "skipped", f"flag {flag!r} but no rec_{ext}.wav")
        enabled = (flag or "").strip().lower() == "true"
        try:
            data = await asyncio.to_thread(_read_limited, path)
        except UnsafeFile as exc:
            return ImportItem(ext, "skipped", f"{path.name} is {exc.reason}; not read")
        except OSError as exc:
            return ImportItem(ext, "skipped", f"cannot read {path.name}: {exc.strerror}")
        source_sha = hashlib.sha256(data).hexdigest()
        done = None
        if self.db is not None:  # None: a dry run before our database exists, so nothing imported yet
            async with self.db.session() as session:
                done = await session.scalar(
                    select(LegacyImport.id).where(
                        LegacyImport.extension == ext, LegacyImport.source_sha256 == source_sha
                    )
                )
        if done is not None:
            return ImportItem(ext, "skipped", "already imported")
        try:
            audio = await self.process(data)
        except AudioRejected as exc:
            return ImportItem(ext, "skipped", f"{path.name}: {exc.message}")
        state = "on" if enabled else f"off (flag {flag or 'missing'})"
        detail = f"{audio.duration:.1f} s, {state}"
        if dry_run:
            return ImportItem(ext, "would import", detail)
        if self.messages is None or self.db is None:
            raise RuntimeError("importing needs the message service and our database")
        await self.messages.publish(ext, self.status, audio, actor=self.actor)
        if not enabled:
            await self.messages.set_enabled(ext, False, actor=self.actor)
        async with self.db.transaction() as session:
            session.add(LegacyImport(extension=ext, source_sha256=source_sha, imported_at=self.clock()))
        log.info("imported legacy message for extension %s (%s)", ext, state)
        return ImportItem(ext, "imported", detail)
