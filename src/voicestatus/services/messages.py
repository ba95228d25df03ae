"""Changing operators' messages (accept, delete, switch, restore, purge) and counting plays.

Every change runs in one write transaction that also locks the operator's row
(``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL), so
concurrent changes for one operator apply one after the other: the last one
wins and each is audited. Replaced and deleted messages are kept as history
for undo until ``purge`` removes them. The reads (``MessageQueries``) and the
values they return live in ``message_queries.py``; ``MessageService`` is both,
the one object the rest of voicestatus uses for messages.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voicestatus.errors import InvalidInput
from voicestatus.services.audit import Actor, AuditService, storable
from voicestatus.services.clock import Clock, utcnow
from voicestatus.services.message_queries import MessageQueries, MessageView, PlayStats, message_view
from voicestatus.services.operators import OperatorService, validate_status
from voicestatus.storage import repository as repo
from voicestatus.storage.database import Database
from voicestatus.storage.models import Message, Operator

__all__ = ["MessageService", "MessageView", "PlayStats"]

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")


def _summary(row: Message | None, *, active: bool) -> dict[str, object]:
    return {
        "message_id": row.id if row else None,
        "sha256": row.sha256 if row else None,
        "active": active,
    }


class MessageService(MessageQueries):
    """Accepts, deletes, restores and serves operators' messages."""

    def __init__(
        self,
        db: Database,
        operators: OperatorService,
        *,
        clock: Clock = utcnow,
        audit: AuditService | None = None,
    ) -> None:
        super().__init__(db, operators, clock=clock)
        self._audit = audit if audit is not None else operators.audit

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
            return message_view(row)

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
            return message_view(target)

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


def _validate_audio(sha256: str, duration: float, talk_duration: float, loudness_lufs: float | None) -> None:
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise InvalidInput("sha256 must be 64 lowercase hex digits")
    numbers = [duration, talk_duration] + ([] if loudness_lufs is None else [loudness_lufs])
    if not all(isinstance(n, (int, float)) and math.isfinite(n) for n in numbers):
        raise InvalidInput("durations and loudness must be finite numbers")
    if duration <= 0 or not 0 <= talk_duration <= duration:
        raise InvalidInput("duration must be > 0 and talk duration between 0 and duration")
