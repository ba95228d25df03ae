"""Operators' messages: the one API for reading, changing and publishing them.

The phone menu, the web UI, the API, the importer and the caller path all go
through :class:`MessageService`, so every path processes audio the same way,
stores it before it goes live, audits every change and tells the listeners
(the co-located mirror, the caches; see ``changes.py``) about it once the
change is committed. CPU-heavy audio work and file I/O run in worker threads
so a recording being processed never delays another caller's events.

Every change runs in one write transaction that also locks the operator's row
(``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL), so
concurrent changes for one operator apply one after the other: the last one
wins and each is audited. Replaced and deleted messages are kept as history
for undo until ``purge`` removes them. Reads lock nothing and return frozen
values (``message_views.py``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voicestatus.audio.decode import decode_audio, read_wav
from voicestatus.audio.process import ProcessedAudio, ProcessingSettings, process_recording
from voicestatus.errors import InvalidInput
from voicestatus.services.audit import Actor, AuditService, storable
from voicestatus.services.changes import ChangeNotifier
from voicestatus.services.clock import Clock, utcnow
from voicestatus.services.message_views import MessageState, MessageView, PlayStats, message_view
from voicestatus.services.operators import OperatorService, validate_status
from voicestatus.services.play_counter import PlayCounter, write_plays
from voicestatus.storage import repository as repo
from voicestatus.storage.database import Database
from voicestatus.storage.media import MediaStore, is_valid_sha256
from voicestatus.storage.models import Message, Operator

__all__ = ["MessageService", "MessageState", "MessageView", "PlayStats"]

logger = logging.getLogger(__name__)

# Uploads and phone recordings longer than this are refused (``[media] max_upload_seconds``).
DEFAULT_MAX_SECONDS = 300.0


def _summary(row: Message | None, *, active: bool) -> dict[str, object]:
    return {
        "message_id": row.id if row else None,
        "sha256": row.sha256 if row else None,
        "active": active,
    }


class MessageService:
    """Reads, accepts, deletes, switches, restores and serves operators' messages."""

    def __init__(
        self,
        db: Database,
        operators: OperatorService,
        *,
        media: MediaStore | None = None,
        processing: ProcessingSettings | None = None,
        max_upload_seconds: float = DEFAULT_MAX_SECONDS,
        clock: Clock = utcnow,
        audit: AuditService | None = None,
    ) -> None:
        self._db = db
        self._operators = operators
        self._clock = clock
        self._audit = audit if audit is not None else operators.audit
        # The operators' notifier: one set of listeners for operators and messages alike.
        self._changes: ChangeNotifier = operators.changes
        # Only staging and publishing audio store files; the command line's reads
        # and switches need no media store.
        self._media = media
        self._processing = processing if processing is not None else ProcessingSettings()
        self._max_seconds = max_upload_seconds
        # Plays counted on the caller path, written in batches (see play_counter.py).
        self.plays = PlayCounter(lambda batch: write_plays(db, batch), clock=clock)

    # -- reads --------------------------------------------------------------------------

    async def current(self, extension: str, status: int) -> MessageView | None:
        """The current message for one status, whether or not callers hear it."""
        validate_status(status)
        if not self._operators.allowed(extension):
            return None
        async with self._db.session() as session:
            row = await repo.current_message(session, extension, status)
            return message_view(row) if row is not None else None

    async def current_all(self, extension: str) -> list[MessageView]:
        """The current message of every status that has one, by status digit."""
        if not self._operators.allowed(extension):
            return []
        async with self._db.session() as session:
            return [message_view(r) for r in await repo.current_messages(session, extension)]

    async def state(self, extension: str, *, default_status: int) -> MessageState:
        """The phone menu's view of an operator: one database round trip per menu loop."""
        if not self._operators.allowed(extension):
            return MessageState(default_status, None, playing=False, message_enabled=False)
        async with self._db.session() as session:
            op, rows = await repo.operator_with_current_messages(session, extension)
        if op is None:  # no row yet: an operator with the defaults and no message
            return MessageState(default_status, None, playing=False, message_enabled=True)
        status = op.active_status or default_status
        current = next((message_view(r) for r in rows if r.status == status), None)
        unexpired = op.expires_at is None or op.expires_at > self._clock()
        playing = bool(op.enabled and op.message_enabled and op.active_status and current and unexpired)
        return MessageState(status, current, playing=playing, message_enabled=op.message_enabled)

    async def history(self, extension: str, status: int, *, limit: int = 20) -> list[MessageView]:
        """Replaced and deleted messages, the most recently retired first."""
        validate_status(status)
        if not self._operators.allowed(extension):
            return []
        async with self._db.session() as session:
            rows = await repo.history(session, extension, status, max(1, min(limit, 1000)))
            return [message_view(r) for r in rows]

    async def playable(self, extension: str) -> MessageView | None:
        """What a caller hears now: enabled, switched on, active status, unexpired, recorded."""
        if not self._operators.allowed(extension):
            return None
        async with self._db.session() as session:
            row = await repo.playable_message(session, extension, self._clock())
            return message_view(row) if row is not None else None

    async def playable_until(self, extension: str) -> tuple[MessageView | None, datetime | None]:
        """``playable`` and the operator's expiry time, for callers that keep the answer."""
        if not self._operators.allowed(extension):
            return None, None
        async with self._db.session() as session:
            row = await repo.playable_message(session, extension, self._clock())
            if row is None:
                return None, None
            op = await repo.get_operator(session, extension)
            return message_view(row), op.expires_at if op is not None else None

    async def play_stats(self, message_id: int) -> PlayStats:
        """Stored counts plus those not written yet."""
        async with self._db.session() as session:
            row = await repo.get_play_stat(session, message_id)
        count, last = (row.count, row.last_played_at) if row is not None else (0, None)
        return self._with_pending(message_id, count, last)

    async def current_for(self, extensions: list[str]) -> dict[str, list[tuple[MessageView, PlayStats]]]:
        """``current_all`` with ``play_stats`` for a page of operators, in one query."""
        found: dict[str, list[tuple[MessageView, PlayStats]]] = {ext: [] for ext in extensions}
        async with self._db.session() as session:
            rows = await repo.current_messages_with_plays(session, list(found))
        allowed = {ext for ext in {row.extension for row, _ in rows} if self._operators.allowed(ext)}
        for row, stat in rows:
            if row.extension in allowed:
                count, last = (stat.count, stat.last_played_at) if stat is not None else (0, None)
                found[row.extension].append((message_view(row), self._with_pending(row.id, count, last)))
        return found

    def _with_pending(self, message_id: int, count: int, last: datetime | None) -> PlayStats:
        pending = self.plays.pending(message_id)
        if pending is not None:
            count, last = count + pending.count, pending.last_played_at
        return PlayStats(message_id, count, last)

    # -- audio in -------------------------------------------------------------------------

    async def process_phone_recording(self, wav: bytes) -> ProcessedAudio:
        """Turn a WAV recorded by Asterisk into a message; raises AudioRejected."""
        limit, settings = self._max_seconds, self._processing
        return await asyncio.to_thread(lambda: process_recording(read_wav(wav, max_seconds=limit), settings))

    async def process_upload(self, data: bytes) -> ProcessedAudio:
        """Decode an uploaded file in any common format and process it; raises AudioRejected."""
        limit, settings = self._max_seconds, self._processing
        return await asyncio.to_thread(
            lambda: process_recording(decode_audio(data, max_seconds=limit), settings)
        )

    async def stage(self, audio: ProcessedAudio) -> None:
        """Store the audio so it can be played (e.g. for review) before it goes live."""
        if self._media is None:
            raise RuntimeError("this MessageService was built without a media store")
        await asyncio.to_thread(self._media.put, audio)

    async def publish(
        self, extension: str, status: int, audio: ProcessedAudio, *, actor: Actor
    ) -> MessageView:
        """Store processed audio and make it the operator's live message for ``status``."""
        await self.stage(audio)
        return await self.accept(
            extension,
            status,
            sha256=audio.sha256,
            duration=audio.duration,
            talk_duration=min(audio.talk_duration, audio.duration),
            loudness_lufs=audio.loudness_lufs,
            actor=actor,
        )

    # -- changes --------------------------------------------------------------------------

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
            view = message_view(row)
        await self._changes.notify(extension)
        return view

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
        await self._changes.notify(extension)
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
        await self._changes.notify(extension)
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
            view = message_view(target)
        await self._changes.notify(extension)
        return view

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
    if not is_valid_sha256(sha256):
        raise InvalidInput("sha256 must be 64 lowercase hex digits")
    numbers = [duration, talk_duration] + ([] if loudness_lufs is None else [loudness_lufs])
    if not all(isinstance(n, (int, float)) and math.isfinite(n) for n in numbers):
        raise InvalidInput("durations and loudness must be finite numbers")
    if duration <= 0 or not 0 <= talk_duration <= duration:
        raise InvalidInput("duration must be > 0 and talk duration between 0 and duration")
