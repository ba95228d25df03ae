"""A short-lived memory of values that many concurrent requests ask for at once.

The caller path (each operator's playable message) and the operator list
(ready JSON pages) have the same problem: the value is costly to load, asked
for in bursts, and only changes when someone changes an operator. Both need
the same four rules, so they live here once:

- concurrent misses for one key share one load (a burst costs one query);
- a load that started before an invalidation answers those already waiting
  but is neither kept nor joined by later requests, so a change is never
  hidden by a read that raced it;
- a caller that goes away does not cancel a load others are waiting for;
- a value is kept at most ``ttl`` seconds (what bounds how long a change made
  by another process stays unseen) and at most ``max_entries`` keys; with
  ``refresh_at`` below 1 the first request past that fraction of the ``ttl``
  reloads while the others are still answered with the current value.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class _Kept(Generic[V]):
    value: V
    loaded_at: float


class SharedCache(Generic[K, V]):
    """Values by key, loaded once for all concurrent misses, dropped on change or after ``ttl``."""

    def __init__(
        self,
        ttl: float,
        *,
        max_entries: int | None = None,
        refresh_at: float = 1.0,
        usable: Callable[[V], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._max_entries = max_entries
        self._refresh_at = refresh_at
        self._usable = usable
        self._clock = clock
        self._kept: dict[K, _Kept[V]] = {}
        self._loading: dict[K, asyncio.Task[V]] = {}
        # Bumped by every invalidation: a load that started before one is not kept.
        self._generation = 0

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The value for ``key``; ``load`` makes it when there is no usable one."""
        kept = self._kept.get(key)
        if kept is not None and self._serves(key, kept):
            return kept.value
        task = self._loading.get(key)
        if task is None:
            task = self._start(key, load)
        return await asyncio.shield(task)

    def _serves(self, key: K, kept: _Kept[V]) -> bool:
        """Still good, and not due for the reload ahead of expiry (unless one is running)."""
        age = self._clock() - kept.loaded_at
        if age >= self.ttl or (self._usable is not None and not self._usable(kept.value)):
            return False
        return age < self.ttl * self._refresh_at or key in self._loading

    def forget(self, key: K) -> None:
        """Drop ``key``: the next request loads anew (a load in flight answers its waiters only)."""
        self._generation += 1
        self._kept.pop(key, None)
        self._loading.pop(key, None)

    def clear(self) -> None:
        self._generation += 1
        self._kept.clear()
        self._loading.clear()

    def _start(self, key: K, load: Callable[[], Awaitable[V]]) -> asyncio.Task[V]:
        generation = self._generation
        started = self._clock()  # the value shows the data as of (at least) now

        async def run() -> V:
            value = await load()
            if generation == self._generation and self.ttl > 0:
                if self._max_entries is not None and len(self._kept) >= self._max_entries:
                    self._kept.pop(next(iter(self._kept)))  # the oldest kept
                self._kept[key] = _Kept(value, started)
            return value

        task = asyncio.create_task(run(), name="shared-cache-load")
        self._loading[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))
        return task

    def _finished(self, key: K, task: asyncio.Task[V]) -> None:
        if self._loading.get(key) is task:
            del self._loading[key]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have gone away
