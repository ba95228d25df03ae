"""Play statistics counted in memory and written in batches.

Writing each play in its own transaction put a database write on every
caller's path; under load that write (and SQLite's single writer) was one of
the service's largest costs per call. Plays are therefore added up here and
written in one transaction every few seconds, and once more on shutdown, so a
clean stop loses nothing. Readers of the statistics add ``pending`` to what
the database holds, so counts look current at once. A crash loses at most
one interval of counts, which only ever feed a statistic.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voicestatus.services.background import PeriodicTask
from voicestatus.services.clock import Clock, utcnow
from voicestatus.storage.database import Database
from voicestatus.storage.models import PlayStat

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingPlays:
    count: int
    last_played_at: datetime


Writer = Callable[[Mapping[int, PendingPlays]], Awaitable[None]]


class PlayCounter:
    """Counts plays per message id; ``write`` stores a batch in one transaction."""

    def __init__(self, write: Writer, *, interval: float = 5.0, clock: Clock = utcnow) -> None:
        self._write = write
        self.interval = interval
        self._clock = clock
        self._pending: dict[int, PendingPlays] = {}
        # Stopped gently, not cancelled, so a batch being written is never cut off halfway and lost.
        self._task = PeriodicTask(self._round, name="play-counter", interrupt=False)
        self._lock = asyncio.Lock()

    def add(self, message_id: int) -> None:
        """Count one play now; never blocks and never touches the database."""
        before = self._pending.get(message_id)
        count = 1 if before is None else before.count + 1
        self._pending[message_id] = PendingPlays(count, self._clock())

    def pending(self, message_id: int) -> PendingPlays | None:
        """Plays of ``message_id`` not written yet."""
        return self._pending.get(message_id)

    async def flush(self) -> None:
        """Write what has been counted; on failure the counts are kept for the next try."""
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, {}
            try:
                await self._write(batch)
            except Exception:
                log.exception("writing %d message play counts failed; retrying later", len(batch))
                self._merge_back(batch)

    def _merge_back(self, batch: Mapping[int, PendingPlays]) -> None:
        for message_id, old in batch.items():
            new = self._pending.get(message_id)
            if new is None:
                self._pending[message_id] = old
            else:
                self._pending[message_id] = PendingPlays(old.count + new.count, new.last_played_at)

    def start(self) -> None:
        """Flush every ``interval`` seconds in the background (idempotent)."""
        self._task.start(first_delay=self.interval)

    async def stop(self) -> None:
        """Stop the background flush (letting a write in progress finish) and write what is left."""
        await self._task.stop()
        await self.flush()

    async def _round(self) -> float:
        await self.flush()
        return self.interval


async def write_plays(db: Database, batch: Mapping[int, PendingPlays]) -> None:
    """Add a batch of counts in one transaction.

    A message purged meanwhile makes the batch fail on its foreign key; then
    each count is written on its own and the purged ones are dropped.
    """
    try:
        async with db.transaction() as session:
            for message_id, plays in batch.items():
                await _upsert(session, message_id, plays)
    except IntegrityError:
        for message_id, plays in batch.items():
            try:
                async with db.transaction() as session:
                    await _upsert(session, message_id, plays)
            except IntegrityError:
                log.info("plays of message %d not counted: message no longer exists", message_id)


async def _upsert(session: AsyncSession, message_id: int, plays: PendingPlays) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(PlayStat).values(
        message_id=message_id, count=plays.count, last_played_at=plays.last_played_at
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["message_id"],
        set_={"count": PlayStat.count + plays.count, "last_played_at": plays.last_played_at},
    )
    await session.execute(stmt)
