"""Who learns that what an operator's callers hear may have changed, and how.

Several parts keep a copy of what the database says about an operator: the
co-located mirror (a file and an AstDB key the dialplan plays while the
service is down), the caller path's playable cache, the web's page cache and
the expiry watcher. They must hear of every change, wherever it was made, so
the services that change operators and messages notify them themselves,
after their transaction committed (:class:`ChangeNotifier`); nobody calling
a service has to remember to. Listeners are registered in one place, the
wiring in ``app.py``.

Changes made by another process on the same database -- ``voicestatus
operators set`` from a shell, an importer, a second service instance -- never
pass through this process's services. :class:`ChangeFeed` finds them: every
change is audited in its own transaction, so every few seconds one indexed
query asks the audit log for entries newer than the last one seen and
notifies for their extensions. This process's own entries are marked seen as
they are written (``AuditService(on_recorded=...)``), so its own changes are
not announced twice. The feed is the one seam for outside changes: a
PostgreSQL ``LISTEN``/``NOTIFY`` channel could replace the poll without any
listener noticing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select

from voicestatus.storage.database import Database
from voicestatus.storage.models import AuditLog

log = logging.getLogger(__name__)

Listener = Callable[[str], Awaitable[None]]

# A poll reads at most this many entries; the rest come with the next one.
MAX_ENTRIES = 1000
# PostgreSQL hands out ids before commit, so a slow transaction can commit an id
# below one already seen; each poll looks this many ids back for such late ones.
# SQLite writes one transaction at a time, so its ids always commit in order.
POSTGRES_LOOKBACK = 200


class ChangeNotifier:
    """Tells every registered listener about a change to one operator's extension."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def notify(self, extension: str) -> None:
        """Call each listener in turn; one that fails is logged and does not stop the others."""
        for listener in self._listeners:
            try:
                await listener(extension)
            except Exception:
                log.exception("change listener failed for extension %s", extension)


class ChangeFeed:
    """Polls the audit log for other processes' changes and notifies for them."""

    def __init__(
        self,
        db: Database,
        notify: Listener,
        *,
        interval: float = 2.0,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._db = db
        self._notify = notify
        self.interval = interval
        self._on_error = on_error
        self._lookback = POSTGRES_LOOKBACK if db.dialect == "postgresql" else 0
        self._last: int | None = None
        self._seen: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    def seen(self, audit_id: int) -> None:
        """Mark an entry this process wrote: its change was announced when it was made."""
        self._seen.add(audit_id)

    async def check(self) -> list[str]:
        """Notify for entries not seen yet; returns their extensions.

        The first check only marks the starting point: what changed before
        the service started is healed by the start-up re-sync, not here.
        """
        async with self._db.session() as session:
            if self._last is None:
                self._last = await session.scalar(select(func.max(AuditLog.id))) or 0
                floor = max(0, self._last - self._lookback)
                self._seen.update(await session.scalars(select(AuditLog.id).where(AuditLog.id > floor)))
                return []
            floor = max(0, self._last - self._lookback)
            rows = (
                await session.execute(
                    select(AuditLog.id, AuditLog.extension)
                    .where(AuditLog.id > floor)
                    .order_by(AuditLog.id)
                    .limit(MAX_ENTRIES)
                )
            ).all()
        changed: list[str] = []
        for audit_id, extension in rows:
            if audit_id in self._seen:
                continue
            self._seen.add(audit_id)
            if extension and extension not in changed:
                changed.append(extension)
        if rows:
            self._last = max(self._last, rows[-1][0])
        floor = max(0, self._last - self._lookback)
        self._seen = {i for i in self._seen if i > floor}
        for extension in changed:
            log.info("operator %s changed by another process", extension)
            await self._notify(extension)
        return changed

    async def run(self) -> None:
        """Check every ``interval`` seconds until cancelled; a failed check is retried."""
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("checking the audit log for outside changes failed")
                if self._on_error is not None:
                    self._on_error()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="change-feed")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
