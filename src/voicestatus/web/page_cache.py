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

import time
from collections.abc import Awaitable, Callable, Hashable

from voicestatus.services.shared_cache import SharedCache

MAX_PAGES = 256
# Fraction of ``ttl`` after which a page is rebuilt ahead of its expiry.
REFRESH_AT = 0.75

Build = Callable[[], Awaitable[bytes]]


class PageCache:
    """JSON bodies by request key, cleared on change or after ``ttl`` seconds."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._cache: SharedCache[Hashable, bytes] = SharedCache(
            ttl, max_entries=MAX_PAGES, refresh_at=REFRESH_AT, clock=clock
        )

    async def get(self, key: Hashable, build: Build) -> bytes:
        """The page for ``key``; ``build`` makes it when there is no usable one."""
        return await self._cache.get(key, build)

    def clear(self) -> None:
        """Forget every page; builds already running answer their callers but are not kept."""
        self._cache.clear()

    async def on_change(self, extension: str) -> None:
        """A ``ChangeNotifier`` listener: any change may show on any page."""
        self.clear()
