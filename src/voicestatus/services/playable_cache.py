"""The message each operator's callers hear, kept in memory for the caller path.

Looking the message up in the database on every call was a large share of
the service's CPU per call and put a database round trip before every
answer. The answer only changes when someone changes the operator's
messages, settings or expiry, so it is kept here:

- every change, made through this service or found by its change feed
  in another process's (``services/changes.py``), drops the operator's
  entry at once;
- an entry whose operator expiry time has passed is not used;
- and every entry is re-read after ``ttl`` seconds (``[caller]
  message_cache_seconds``), which bounds how long a change made by another
  instance sharing the database stays unseen.

Concurrent misses for one operator share a single database read, so a burst
of calls after an expiry or a change costs one query, not one per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from voicestatus.services.clock import Clock, utcnow
from voicestatus.services.messages import MessageService, MessageView
from voicestatus.services.shared_cache import SharedCache

Playable = tuple[MessageView | None, datetime | None]


class PlayableCache:
    """``messages.playable`` with a short-lived, change-invalidated memory."""

    def __init__(
        self,
        messages: MessageService,
        *,
        ttl: float,
        clock: Clock = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.messages = messages
        self.ttl = ttl
        self._clock = clock
        self._cache: SharedCache[str, Playable] = SharedCache(ttl, usable=self._unexpired, clock=monotonic)

    async def playable(self, extension: str) -> MessageView | None:
        """What a caller of ``extension`` hears now (None: no message)."""
        view, _ = await self._cache.get(extension, lambda: self.messages.playable_until(extension))
        return view

    async def invalidate(self, extension: str) -> None:
        """Forget ``extension`` (a ``ChangeNotifier`` listener)."""
        self._cache.forget(extension)

    def clear(self) -> None:
        self._cache.clear()

    def _unexpired(self, playable: Playable) -> bool:
        view, expires_at = playable
        return view is None or expires_at is None or self._clock() < expires_at
