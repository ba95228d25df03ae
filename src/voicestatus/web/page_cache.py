"""Recently served operator-list pages, kept as ready JSON for a moment.

Supervisors' browsers and dashboards ask for the same first page over and
over; building it (query, messages, play counts, serialisation) is most of
an API request's cost. A page is reused until any message change made
through this service (a ``ChangeNotifier`` listener) clears them all, or
for at most ``ttl`` seconds, which bounds how stale a change made by another
service instance or the command line can look.

Under concurrent clients two things would otherwise stall the event loop
every ``ttl`` seconds: every request arriving while a page is rebuilt would
build it again (one build awaits the database, so many misses overlap), and
every one of them would wait for the rebuild. So a page has one build at a
time that all its misses share, and once a page is past ``REFRESH_AT`` of its
life the next request rebuilds it while the others are still answered with
the current, still valid page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable

MAX_PAGES = 256
# Fraction of ``ttl`` after which a page is rebuilt ahead of its expiry.
REFRESH_AT = 0.75

Build = Callable[[], Awaitable[bytes]]


class PageCache:
    """JSON bodies by request key, cleared on change or after ``ttl`` seconds."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._pages: dict[Hashable, tuple[float, bytes]] = {}
        self._building: dict[Hashable, asyncio.Task[bytes]] = {}
        # Bumped by clear(): a build that started before a change must not be kept.
        self._generation = 0

    async def get(self, key: Hashable, build: Build) -> bytes:
        """The page for ``key``; ``build`` makes it when there is no usable one."""
        if self.ttl <= 0:
            return await build()
        entry = self._pages.get(key)
        if entry is not None:
            built_at, body = entry
            age = self._clock() - built_at
            if age < self.ttl and (age < self.ttl * REFRESH_AT or key in self._building):
                return body
        task = self._building.get(key)
        if task is None:
            task = self._start(key, build)
        # Shielded: a caller that goes away must not cancel a build others wait for.
        return await asyncio.shield(task)

    def _start(self, key: Hashable, build: Build) -> asyncio.Task[bytes]:
        generation = self._generation
        started = self._clock()  # the page shows the data as of (at least) now

        async def run() -> bytes:
            body = await build()
            if generation == self._generation:
                if len(self._pages) >= MAX_PAGES and key not in self._pages:
                    self._pages.clear()
                self._pages[key] = (started, body)
            return body

        task = asyncio.create_task(run(), name="page-build")
        self._building[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))
        return task

    def _finished(self, key: Hashable, task: asyncio.Task[bytes]) -> None:
        if self._building.get(key) is task:
            del self._building[key]

    def clear(self) -> None:
        """Forget every page; builds already running answer their callers but are not kept."""
        self._pages.clear()
        self._building.clear()
        self._generation += 1

    async def on_change(self, extension: str) -> None:
        """A ``ChangeNotifier`` listener: any change may show on any page."""
        self.clear()
