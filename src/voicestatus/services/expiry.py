"""Expiry reaches the listeners: tell them when an operator's message stops playing.

Callers need no job for expiry: what they hear is decided by reading
``expires_at`` at call time. But listeners that keep a copy -- the co-located
mirror the dialplan plays while the service is down, caches -- only learn of
changes through ``ChangeNotifier.notify``, and nothing changes in the
database when an expiry time passes. So this task sleeps until the next
expiry and then notifies for every operator whose time has just passed.

It sleeps at most ``max_sleep`` seconds and re-reads the next expiry after
every change (it is a ``ChangeNotifier`` listener), so an
expiry set or moved by the UI, the API, the command line or another instance
is picked up without a restart. Expiries that passed while the service was
down are healed by the mirror's start-up re-sync, not here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import func, select

from voicestatus.services.background import PeriodicTask
from voicestatus.services.clock import Clock, utcnow
from voicestatus.storage.database import Database
from voicestatus.storage.models import Operator

log = logging.getLogger(__name__)

Notify = Callable[[str], Awaitable[None]]
# Wake a little after the expiry so the clock has certainly passed it.
_MARGIN_SECONDS = 0.05


class ExpiryWatcher:
    """Calls ``notify(extension)`` once each time an operator's ``expires_at`` passes."""

    def __init__(
        self,
        db: Database,
        notify: Notify,
        *,
        clock: Clock = utcnow,
        max_sleep: float = 60.0,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        if max_sleep <= 0:
            raise ValueError("max_sleep must be positive")
        self._db = db
        self._notify = notify
        self._clock = clock
        self._max_sleep = max_sleep
        self._on_error = on_error
        self._since: datetime | None = None
        self._task = PeriodicTask(self._round, name="expiry-watcher")

    async def on_change(self, extension: str) -> None:
        """A ``ChangeNotifier`` listener: re-read the next expiry now."""
        self._task.wake()

    async def check(self) -> float:
        """Notify for expiries since the last check; the seconds until the next check.

        The first check only marks the starting point: it notifies nobody.
        """
        now = self._clock()
        since = self._since if self._since is not None else now
        async with self._db.session() as session:
            due = list(
                await session.scalars(
                    select(Operator.extension)
                    .where(Operator.expires_at > since, Operator.expires_at <= now)
                    .order_by(Operator.expires_at, Operator.extension)
                )
            )
            upcoming = await session.scalar(
                select(func.min(Operator.expires_at)).where(Operator.expires_at > now)
            )
        self._since = now
        for extension in due:
            log.info("message of operator %r expired", extension)
            await self._notify(extension)
        if upcoming is None:
            return self._max_sleep
        wait = (upcoming - now).total_seconds() + _MARGIN_SECONDS
        return max(0.0, min(wait, self._max_sleep))

    async def _round(self) -> float:
        """One check; the seconds to sleep until the next expiry (or a change wakes it)."""
        try:
            return await self.check()
        except Exception:
            log.exception("expiry check failed; retrying in %.0f s", self._max_sleep)
            if self._on_error is not None:
                self._on_error()
            return self._max_sleep

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
