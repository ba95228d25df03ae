"""Reading operators' messages: what is current, what callers hear, how often.

These are the reads the pages, the API and the caller path make, far more
often than anyone changes a message. None of them locks the operator's row or writes audit, unlike the
changes in ``messages.py``, which build on this class; keeping them apart
keeps that module about the one rule every change follows. The results are
frozen ``MessageView``/``PlayStats`` values, never ORM rows, so nothing a
caller keeps can reach back into a closed session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from voicestatus.services.clock import Clock, utcnow
from voicestatus.services.operators import OperatorService, validate_status
from voicestatus.services.play_counter import PlayCounter, write_plays
from voicestatus.storage import repository as repo
from voicestatus.storage.database import Database
from voicestatus.storage.models import Message


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


def message_view(row: Message) -> MessageView:
    """A detached copy of a stored message."""
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


class MessageQueries:
    """Looks up operators' messages and their play counts."""

    def __init__(self, db: Database, operators: OperatorService, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._operators = operators
        self._clock = clock
        # Plays counted on the caller path, written in batches (see play_counter.py).
        self.plays = PlayCounter(lambda batch: write_plays(db, batch), clock=clock)

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
        pending = self.plays.pending(message_id)
        if pending is not None:
            count, last = count + pending.count, pending.last_played_at
        return PlayStats(message_id, count, last)

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
            found[row.extension].append((message_view(row), PlayStats(row.id, count, last)))
        return found
