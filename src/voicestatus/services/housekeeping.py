"""Retention: purge old history, then the media files nothing refers to any more.

Replaced and deleted messages are kept for undo for ``[media] history_days``
(0 keeps them forever); after that their rows go, and so does their audio
unless another message (current or history, any operator) uses the same
sha256. Audio that was stored but never accepted -- the phone menu stores a
recording for review before the operator accepts it, an upload is stored
before it goes live -- is removed once it is ``[media] orphan_hours`` old,
as are leftover temporary files.

The rule that keeps live audio safe is one check, made right before each
file is removed: no message row names this sha256, and the file has not been
written for ``orphan_hours``. So a recording under review, a message just
accepted, or a history row restored meanwhile keeps its file, whatever the
purge computed earlier. The service runs this daily; ``voicestatus purge``
runs it on demand (``--dry-run`` reports and changes nothing).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import and_, false, func, select

from voicestatus.metrics import Metrics
from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.background import PeriodicTask
from voicestatus.services.clock import Clock, utcnow
from voicestatus.storage import repository as repo
from voicestatus.storage.database import Database
from voicestatus.storage.media import FORMATS, SHA256_PATTERN, MediaStore
from voicestatus.storage.models import Message

log = logging.getLogger(__name__)

RETENTION_ACTOR = Actor("system", "retention")
DAY_SECONDS = 24 * 3600.0
_SHARD = re.compile(r"[0-9a-f]{2}")
_MEDIA_FILE = re.compile(rf"({SHA256_PATTERN})\.(?:wav|wav16)")
_TEMP_FILE = re.compile(r"\..+\.tmp|\.check-.+")
_IN_CHUNK = 500


@dataclass
class PurgeReport:
    """What one purge removed (or, with ``dry_run``, would remove)."""

    dry_run: bool
    messages: int = 0
    files: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    temp_files: int = 0
    kept: list[str] = field(default_factory=list)

    @property
    def removed_anything(self) -> bool:
        return bool(self.messages or self.files or self.orphans or self.temp_files)


class _DryRun(Exception):
    def __init__(self, messages: int, shas: list[str]) -> None:
        super().__init__("dry run")
        self.messages = messages
        self.shas = shas


class MediaHousekeeper:
    """Applies ``[media] history_days`` and ``orphan_hours`` to the database and the media store."""

    def __init__(
        self,
        db: Database,
        media: MediaStore,
        *,
        history_days: int,
        orphan_hours: float,
        clock: Clock = utcnow,
        audit: AuditService | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if history_days < 0 or orphan_hours <= 0:
            raise ValueError("history_days must be >= 0 and orphan_hours > 0")
        self._db = db
        self._media = media
        self._history_days = history_days
        self._grace = orphan_hours * 3600.0
        self._clock = clock
        self._audit = audit
        self._metrics = metrics
        self._interval = DAY_SECONDS
        self._task = PeriodicTask(self._round, name="retention")

    async def purge(self, *, dry_run: bool = False, actor: Actor = RETENTION_ACTOR) -> PurgeReport:
        """Purge expired history, then unreferenced media; see the module docstring."""
        report = PurgeReport(dry_run=dry_run)
        candidates: list[str] = []
        if self._history_days > 0:
            report.messages, candidates = await self._purge_history(dry_run)
        if dry_run:
            report.files = [s for s in candidates if self._state(s) == "old"]
        else:
            report.files, report.kept = await self._delete_unreferenced(candidates)
        history = set(candidates)
        orphans = [s for s in await asyncio.to_thread(self._old_media) if s not in history]
        if dry_run:
            report.orphans = sorted(set(orphans) - await self._referenced(orphans))
        else:
            report.orphans, _ = await self._delete_unreferenced(orphans)
        report.temp_files = await asyncio.to_thread(self._sweep_temp, dry_run)
        self._account(report, actor)
        if report.removed_anything and not dry_run and self._audit is not None:
            await self._audit.record(
                None,
                actor=actor,
                action="media.purge",
                extension=None,
                before=None,
                after={
                    "messages": report.messages,
                    "files": len(report.files),
                    "orphans": len(report.orphans),
                    "temp_files": report.temp_files,
                },
            )
        return report

    async def _purge_history(self, dry_run: bool) -> tuple[int, list[str]]:
        cutoff = self._clock() - timedelta(days=self._history_days)
        old = and_(
            Message.is_current == false(), Message.retired_at.is_not(None), Message.retired_at < cutoff
        )
        try:
            async with self._db.transaction() as session:
                count = int(await session.scalar(select(func.count()).select_from(Message).where(old)) or 0)
                shas = await repo.purge_history(session, cutoff) if count else []
                if dry_run:
                    raise _DryRun(count, shas)
        except _DryRun as rolled_back:
            return rolled_back.messages, rolled_back.shas
        return count, shas

    async def _referenced(self, shas: Iterable[str]) -> set[str]:
        wanted = sorted(set(shas))
        found: set[str] = set()
        async with self._db.session() as session:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                found.update(await session.scalars(select(Message.sha256).where(Message.sha256.in_(chunk))))
        return found

    async def _delete_unreferenced(self, shas: list[str]) -> tuple[list[str], list[str]]:
        """Delete each sha's files unless a message names it or it was written lately."""
        deleted: list[str] = []
        kept: list[str] = []
        for sha in shas:
            # One query per file keeps the gap between the check and the unlink small.
            if await self._referenced([sha]):
                kept.append(sha)
                continue
            state = await asyncio.to_thread(self._delete_if_old, sha)
            if state == "old":
                deleted.append(sha)
            elif state == "young":
                kept.append(sha)
        return deleted, kept

    def _state(self, sha: str) -> Literal["old", "young", "missing"]:
        ages = [_age(p) for p in (self._media.path(sha, fmt) for fmt in FORMATS) if p.exists()]
        if not ages:
            return "missing"
        return "young" if min(ages) < self._grace else "old"

    def _delete_if_old(self, sha: str) -> Literal["old", "young", "missing"]:
        state = self._state(sha)
        if state == "old":
            self._media.delete(sha)
        return state

    def _old_media(self) -> list[str]:
        """The sha256 of stored audio whose files are all older than the grace period."""
        young: set[str] = set()
        seen: set[str] = set()
        for shard in _dirs(self._media.root):
            for path in shard.iterdir():
                match = _MEDIA_FILE.fullmatch(path.name)
                if match is None or match.group(1)[:2] != shard.name:
                    continue
                seen.add(match.group(1))
                if _age(path) < self._grace:
                    young.add(match.group(1))
        return sorted(seen - young)

    def _sweep_temp(self, dry_run: bool) -> int:
        """Temporary files left by a crash mid-write, older than the grace period."""
        removed = 0
        for directory in [self._media.tmp_dir, *_dirs(self._media.root)]:
            for path in directory.iterdir():
                if _TEMP_FILE.fullmatch(path.name) and path.is_file() and _age(path) >= self._grace:
                    if not dry_run:
                        path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def _account(self, report: PurgeReport, actor: Actor) -> None:
        verb = "would remove" if report.dry_run else "removed"
        log.info(
            "retention (%s) %s %d history message(s), %d history file(s), %d orphan file(s), %d temp file(s)",
            actor,
            verb,
            report.messages,
            len(report.files),
            len(report.orphans),
            report.temp_files,
        )
        for sha in report.files:
            log.info("retention %s audio %s (history)", verb, sha)
        for sha in report.orphans:
            log.info("retention %s audio %s (never accepted)", verb, sha)
        if report.kept:
            log.info("retention kept %d file(s) still in use or written lately", len(report.kept))
        if self._metrics is not None and not report.dry_run:
            purged = self._metrics.purged
            purged.labels(kind="messages").inc(report.messages)
            purged.labels(kind="files").inc(len(report.files))
            purged.labels(kind="orphans").inc(len(report.orphans))
            purged.labels(kind="temp").inc(report.temp_files)

    async def _round(self) -> float:
        """One scheduled purge; the seconds until the next."""
        try:
            await self.purge()
        except Exception:
            log.exception("retention purge failed; retrying at the next run")
            if self._metrics is not None:
                self._metrics.errors.labels(kind="retention").inc()
        return self._interval

    def start(self, interval: float = DAY_SECONDS) -> None:
        """Purge now and then every ``interval`` seconds in the background (idempotent)."""
        if not self._task.running:
            self._interval = interval
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()


def _dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and _SHARD.fullmatch(p.name))


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")
