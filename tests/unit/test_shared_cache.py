"""The one single-flight memory behind the caller path's and the operator list's caches."""

from __future__ import annotations

import asyncio

from support import wait_until
from voicestatus.services.shared_cache import SharedCache


class Loader:
    """Returns the database's value as of when it was called; may be held at a gate."""

    def __init__(self) -> None:
        self.value = "before"
        self.calls = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self) -> str:
        self.calls += 1
        seen = self.value
        await self.gate.wait()
        return seen


async def test_a_request_after_a_change_never_gets_a_read_that_raced_it() -> None:
    cache: SharedCache[str, str] = SharedCache(60.0)
    load = Loader()
    load.gate.clear()
    early = asyncio.create_task(cache.get("101", load))
    await wait_until(lambda: load.calls == 1, what="the first read started")
    load.value = "after"  # the change commits while the first read is in flight ...
    cache.forget("101")  # ... and its notification arrives
    late = asyncio.create_task(cache.get("101", load))
    await wait_until(lambda: load.calls == 2, what="the late request started its own read")
    load.gate.set()
    assert await early == "before"
    assert await late == "after", "the late request loaded anew instead of joining the stale read"
    assert await cache.get("101", load) == "after"
    assert load.calls == 2


async def test_a_full_cache_drops_its_oldest_value_only() -> None:
    cache: SharedCache[int, str] = SharedCache(60.0, max_entries=3)
    load = Loader()
    for key in range(4):
        await cache.get(key, load)
    assert load.calls == 4
    for key in (1, 2, 3):
        await cache.get(key, load)
    assert load.calls == 4, "the three newest are still kept"
    await cache.get(0, load)
    assert load.calls == 5, "the oldest was the one dropped"


async def test_a_value_that_is_no_longer_usable_is_reloaded() -> None:
    usable = {"now": True}
    cache: SharedCache[str, str] = SharedCache(60.0, usable=lambda _v: usable["now"])
    load = Loader()
    await cache.get("101", load)
    await cache.get("101", load)
    usable["now"] = False
    await cache.get("101", load)
    assert load.calls == 2
