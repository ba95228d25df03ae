"""Messages: what an operator recorded, which one is live, and its history.

Every change runs in one write transaction that also locks the operator's row
(``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL), so
concurrent changes for one operator apply one after the other: the last one
wins and each is audited. Replaced and deleted messages are kept as history
for undo until ``purge`` removes them.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voicestatus.errors import InvalidInput
from voicestatus.services.audit import Actor, AuditService, storable
from voicestatus.services.clock import Clock, utcnow
from voicestatus.services.operators import OperatorService, validate_status
from voicestatus.services.play_counter import PlayCounter, write_plays
from voicestatus.storage import repository as repo
from voicestatus.storage.database import Database
from voicestatus.storage.models import Message, Operator

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class MessageView:
    id: int
    extension: str
    status: int
    sha256: str
    duration: float
    talk_duration: float
    loudness_lufs: float | None
    created_at: datetime
    created_by: str
    is_current: bool = True
    retired_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class PlayStats:
    message_id: int
    count: int
    last_played_at: datetime | None


def _view(row: Message) -> MessageView:
    return MessageView(
        id=row.id,
        extension=row.extension,
        status=row.status,
        sha256=row.sha256,
        duration=row.duration,
        talk_duration=row.talk_duration,
        loudness_lufs=row.loudness_lufs,
        created_at=row.created_at,
        created_by=row.created_by,
        is_current=row.is_current,
        retired_at=row.retired_at,
        deleted_at=row.deleted_at,
    )


def _summary(row: Message | None, *, active: bool) -> dict[str, object]:
    return {
        "message_id": row.id if row else None,
        "sha256": row.sha256 if row else None,
        "active": active,
    }


class MessageService:
    """Accepts, deletes, restores and serves operators' messages."""

    def __init__(
        self,
        db: Database,
        operators: OperatorService,
        *,
        clock: Clock = utcnow,
        audit: AuditService | None = None,
    ) -> None:
        self._db = db
        self._operators = operators
        self._clock = clock
        self._audit = audit if audit is not None else operators.audit
        # Plays counted on the caller path, written in batches (see play_counter.py).
        self.plays = PlayCounter(lambda batch: write_plays(db, batch), clock=clock)

    async def current(self, extension: str, status: int) -> MessageView | None:
        """The current message for one status, whether or not callers hear it."""
        validate_status(status)
        if not self._operators.allowed(extension):
            return None
        async with self._db.session() as session:
            row = await repo.current_message(session, extension, status)
            return _view(row) if row is not None else None

    async def current_all(self, extension: str) -> list[MessageView]:
        """The current message of every status that has one, by status digit."""
        if not self._operators.allowed(extension):
            return []
        async with self._db.session() as session:
            return [_view(r) for r in await repo.current_messages(session, extension)]

    async def history(self, extension: str, status: int, *, limit: int = 20) -> list[MessageView]:
        """Replaced and deleted messages, the most recently retired first."""
        validate_status(status)
        if not self._operators.allowed(extension):
            return []
        async with self._db.session() as session:
            rows = await repo.history(session, extension, status, max(1, min(limit, 1000)))
            return [_view(r) for r in rows]

    async def playable(self, extension: str) -> MessageView | None:
        """What a caller hears now: enabled, switched on, active status, unexpired, recorded."""
        if not self._operators.allowed(extension):
            return None
        async with self._db.session() as session:
            row = await repo.playable_message(session, extension, self._clock())
            return _view(row) if row is not None else None

    async def playable_until(self, extension: str) -> tuple[MessageView | None, datetime | None]:
        """``playable`` and the operator's expiry time, for callers that keep the answer."""
        if not self._operators.allowed(extension):
            return None, None
        async with self._db.session() as session:
            row = await repo.playable_message(session, extension, self._clock())
            if row is None:
                return None, None
            op = await repo.get_operator(session, extension)
            return _view(row), op.expires_at if op is not None else None

    async def accept(
        self,
        extension: str,
        status: int,
        *,
        sha256: str,
        duration: float,
        talk_duration: float,
        loudness_lufs: float | None,
        actor: Actor,
    ) -> MessageView:
        """Make a processed recording the live message for ``status``; the old one becomes history."""
        validate_status(status)
        _validate_audio(sha256, duration, talk_duration, loudness_lufs)
        async with self._db.transaction() as session:
            op = await self._operators.locked_row(session, extension)
            now = self._clock()
            was_active = op.active_status == status and op.message_enabled
            old = await repo.retire_current(session, extension, status, now, deleted=False)
            row = Message(
                extension=extension,
                status=status,
                sha256=sha256,
                duration=float(duration),
                talk_duration=float(talk_duration),
                loudness_lufs=None if loudness_lufs is None else float(loudness_lufs),
                created_at=now,
                created_by=storable(str(actor), 200),
                is_current=True,
            )
            session.add(row)
            await self._go_live(
                session, op, row, old, now, was_active=was_active, actor=actor, action="accept"
            )
            return _view(row)

    async def delete(self, extension: str, status: int, *, actor: Actor) -> bool:
        """Take the current message off (kept for undo); False if there was none."""
        validate_status(status)
        async with self._db.transaction() as session:
            op = await self._operators.locked_row(session, extension)
            now = self._clock()
            was_active = op.active_status == status
            old = await repo.retire_current(session, extension, status, now, deleted=True)
            if old is None:
                return False
            if was_active:
                op.active_status = None
                op.updated_at = now
            await self._audit.record(
                session,
                actor=actor,
                action="message.delete",
                extension=extension,
                before={"status": status, **_summary(old, active=was_active)},
                after={"status": status, **_summary(None, active=False)},
            )
            return True

    async def set_enabled(self, extension: str, enabled: bool, *, actor: Actor) -> bool:
        """Switch the operator's message on or off without deleting it; returns the new state."""
        if not isinstance(enabled, bool):
            raise InvalidInput("enabled must be true or false")
        async with self._db.transaction() as session:
            op = await self._operators.locked_row(session, extension)
            if op.message_enabled != enabled:
                op.message_enabled = enabled
                op.updated_at = self._clock()
                await self._audit.record(
                    session,
                    actor=actor,
                    action="message.enable" if enabled else "message.disable",
                    extension=extension,
                    before={"message_enabled": not enabled},
                    after={"message_enabled": enabled},
                )
            return enabled

    async def restore(self, extension: str, status: int, *, actor: Actor) -> MessageView | None:
        """Bring back the most recently retired message (undo a delete or an accept).

        The restored message becomes current and active; what was current goes to
        history, so restoring twice swaps back. None if there is no history.
        """
        validate_status(status)
        async with self._db.transaction() as session:
            op = await self._operators.locked_row(session, extension)
            candidates = await repo.history(session, extension, status, 1)
            if not candidates:
                return None
            target = candidates[0]
            now = self._clock()
            was_active = op.active_status == status and op.message_enabled
            old = await repo.retire_current(session, extension, status, now, deleted=False)
            target.is_current = True
            target.retired_at = None
            target.deleted_at = None
            await self._go_live(
                session, op, target, old, now, was_active=was_active, actor=actor, action="restore"
            )
            return _view(target)

    undo_delete = restore

    async def _go_live(
        self,
        session: AsyncSession,
        op: Operator,
        row: Message,
        old: Message | None,
        now: datetime,
        *,
        was_active: bool,
        actor: Actor,
        action: str,
    ) -> None:
        """Make ``row`` the operator's active, switched-on message and audit it."""
        op.active_status = row.status
        op.message_enabled = True
        op.updated_at = now
        await session.flush()
        await self._audit.record(
            session,
            actor=actor,
            action=f"message.{action}",
            extension=row.extension,
            before={"status": row.status, **_summary(old, active=was_active and old is not None)},
            after={"status": row.status, **_summary(row, active=True)},
        )

    async def record_play(self, message_id: int) -> None:
        """Count one play; a message purged meanwhile is ignored."""
        try:
            async with self._db.transaction() as session:
                await repo.increment_play(session, message_id, self._clock())
        except IntegrityError:
            logger.info("play of message %d not counted: message no longer exists", message_id)

    def count_play(self, message_id: int) -> None:
        """Count one play in memory; ``plays`` writes it within seconds."""
        self.plays.add(message_id)

    async def play_stats(self, message_id: int) -> PlayStats:
        """Stored counts plus those not written yet."""
        async with self._db.session() as session:
            row = await repo.get_play_stat(session, message_id)
        count, last = (row.count, row.last_played_at) if row is not None else (0, None)
        pending = self.plays.pending(message_id)
        if pending is not None:
            count, last = count + pending.count, pending.last_played_at
        return PlayStats(message_id, count, last)

    async def purge(self, *, older_than: timedelta) -> list[str]:
        """Remove history retired longer ago than ``older_than``.

        Returns the sha256 of audio no message refers to any more, so the media
        store can delete those files.
        """
        if older_than < timedelta(0):
            raise InvalidInput("retention must not be negative")
        async with self._db.transaction() as session:
            shas = await repo.purge_history(session, self._clock() - older_than)
        if shas:
            logger.info("retention purged history; %d audio files unreferenced", len(shas))
        return shas

    async def current_for(self, extensions: list[str]) -> dict[str, list[tuple[MessageView, PlayStats]]]:
        """``current_all`` with ``play_stats`` for a page of operators, in one query."""
        found: dict[str, list[tuple[MessageView, PlayStats]]] = {ext: [] for ext in extensions}
        async with self._db.session() as session:
            rows = await repo.current_messages_with_plays(session, list(found))
        allowed = {ext for ext in {row.extension for row, _ in rows} if self._operators.allowed(ext)}
        for row, stat in rows:
            if row.extension not in allowed:
                continue
            count, last = (stat.count, stat.last_played_at) if stat is not None else (0, None)
            pending = self.plays.pending(row.id)
            if pending is not None:
                count, last = count + pending.count, pending.last_played_at
            found[row.extension].append((_view(row), PlayStats(row.id, count, last)))
        return found


def _validate_audio(sha256: str, duration: float, talk_duration: float, loudness_lufs: float | None) -> None:
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise InvalidInput("sha256 must be 64 lowercase hex digits")
    numbers = [duration, talk_duration] + ([] if loudness_lufs is None else [loudness_lufs])
    if not all(isinstance(n, (int, float)) and math.isfinite(n) for n in numbers):
        raise InvalidInput("durations and loudness must be finite numbers")
    if duration <= 0 or not 0 <= talk_duration <= duration:
        raise InvalidInput("duration must be > 0 and talk duration between 0 and duration")
