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

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from voicestatus.services.clock import Clock, utcnow
from voicestatus.services.messages import MessageService, MessageView


@dataclass(frozen=True)
class _Entry:
    view: MessageView | None
    expires_at: datetime | None
    loaded_at: float


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
        self._monotonic = monotonic
        self._entries: dict[str, _Entry] = {}
        self._loading: dict[str, asyncio.Future[_Entry]] = {}
        # Bumped on every invalidation; a read that started before one is not kept.
        self._generation = 0

    async def playable(self, extension: str) -> MessageView | None:
        """What a caller of ``extension`` hears now (None: no message)."""
        entry = self._entries.get(extension)
        if entry is not None and self._fresh(entry):
            return entry.view
        return (await self._load(extension)).view

    async def invalidate(self, extension: str) -> None:
        """Forget ``extension`` (a ``ChangeNotifier`` listener)."""
        self._generation += 1
        self._entries.pop(extension, None)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()

    def _fresh(self, entry: _Entry) -> bool:
        if self._monotonic() - entry.loaded_at >= self.ttl:
            return False
        return entry.view is None or entry.expires_at is None or self._clock() < entry.expires_at

    async def _load(self, extension: str) -> _Entry:
        pending = self._loading.get(extension)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        self._loading[extension] = future
        generation = self._generation
        try:
            view, expires_at = await self.messages.playable_until(extension)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marks it retrieved: nobody else may be waiting
            raise
        except BaseException:
            future.cancel()
            raise
        else:
            entry = _Entry(view, expires_at, self._monotonic())
            future.set_result(entry)
            if generation == self._generation and self.ttl > 0:
                self._entries[extension] = entry
            return entry
        finally:
            self._loading.pop(extension, None)
