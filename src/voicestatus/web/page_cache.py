"""Recently served operator-list pages, kept as ready JSON for a moment.

Supervisors' browsers and dashboards ask for the same first page over and
over; building it (query, messages, play counts, serialisation) is most of
an API request's cost. A page is reused until any message change made
through this service (``OperatorMessages.on_change``) clears them all, or
for at most ``ttl`` seconds, which bounds how stale a change made by another
service instance or the command line can look.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

MAX_PAGES = 256


class PageCache:
    """JSON bodies by request key, cleared on change or after ``ttl`` seconds."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._pages: dict[Hashable, tuple[float, bytes]] = {}

    def get(self, key: Hashable) -> bytes | None:
        if self.ttl <= 0:
            return None
        entry = self._pages.get(key)
        if entry is None:
            return None
        expires, body = entry
        if self._clock() >= expires:
            del self._pages[key]
            return None
        return body

    def put(self, key: Hashable, body: bytes) -> None:
        if self.ttl <= 0:
            return
        if len(self._pages) >= MAX_PAGES:
            self._pages.clear()
        self._pages[key] = (self._clock() + self.ttl, body)

    def clear(self) -> None:
        self._pages.clear()

    async def on_change(self, extension: str) -> None:
        """``OperatorMessages`` listener: any change may show on any page."""
        self.clear()
