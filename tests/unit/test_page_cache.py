"""The operator-list page cache: reuse, expiry, clearing on change, one build at a time."""

from __future__ import annotations

import asyncio

import pytest

from voicestatus.web.page_cache import MAX_PAGES, REFRESH_AT, PageCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Builder:
    """Builds numbered pages; ``hold`` makes builds wait until released."""

    def __init__(self) -> None:
        self.calls = 0
        self.hold: asyncio.Event | None = None
        self.fail = False

    async def __call__(self) -> bytes:
        self.calls += 1
        body = f"page {self.calls}".encode()
        if self.hold is not None:
            await self.hold.wait()
        if self.fail:
            raise RuntimeError("database is down")
        return body


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_pages_are_reused_until_they_expire() -> None:
    clock = Clock()
    cache = PageCache(2.0, clock=clock)
    build = Builder()
    assert await cache.get(("admin", 0), build) == b"page 1"
    assert await cache.get(("admin", 0), build) == b"page 1"
    assert await cache.get(("admin", 100), build) == b"page 2"
    clock.now += 2.0
    assert await cache.get(("admin", 0), build) == b"page 3"
    assert build.calls == 3


async def test_concurrent_misses_share_one_build() -> None:
    cache = PageCache(2.0)
    build = Builder()
    build.hold = asyncio.Event()
    waiting = [asyncio.create_task(cache.get("first", build)) for _ in range(20)]
    await settle()
    build.hold.set()
    assert await asyncio.gather(*waiting) == [b"page 1"] * 20
    assert build.calls == 1


async def test_an_ageing_page_is_rebuilt_by_one_request_while_others_get_it() -> None:
    clock = Clock()
    cache = PageCache(2.0, clock=clock)
    build = Builder()
    await cache.get("first", build)
    clock.now += 2.0 * REFRESH_AT
    build.hold = asyncio.Event()
    refreshing = asyncio.create_task(cache.get("first", build))
    await settle()
    assert [await cache.get("first", build) for _ in range(5)] == [b"page 1"] * 5
    build.hold.set()
    assert await refreshing == b"page 2"
    assert await cache.get("first", build) == b"page 2"
    assert build.calls == 2


async def test_an_expired_page_is_never_served() -> None:
    clock = Clock()
    cache = PageCache(2.0, clock=clock)
    build = Builder()
    await cache.get("first", build)
    clock.now += 2.0 * REFRESH_AT
    build.hold = asyncio.Event()
    refreshing = asyncio.create_task(cache.get("first", build))
    await settle()
    clock.now += 2.0
    late = asyncio.create_task(cache.get("first", build))
    await settle()
    assert not late.done()
    build.hold.set()
    assert await refreshing == await late == b"page 2"


async def test_a_change_clears_every_page() -> None:
    cache = PageCache(60.0)
    build = Builder()
    await cache.get("a", build)
    await cache.get("b", build)
    await cache.on_change("101")
    assert await cache.get("a", build) == b"page 3"
    assert await cache.get("b", build) == b"page 4"


async def test_a_page_built_across_a_change_is_not_kept() -> None:
    cache = PageCache(60.0)
    build = Builder()
    build.hold = asyncio.Event()
    before = asyncio.create_task(cache.get("a", build))
    await settle()
    await cache.on_change("101")
    after = asyncio.create_task(cache.get("a", build))
    await settle()
    build.hold.set()
    assert await before == b"page 1"
    assert await after == b"page 2"
    assert await cache.get("a", build) == b"page 2"


async def test_a_failed_build_reaches_every_waiter_and_is_retried() -> None:
    cache = PageCache(2.0)
    build = Builder()
    build.hold = asyncio.Event()
    build.fail = True
    waiting = [asyncio.create_task(cache.get("a", build)) for _ in range(3)]
    await settle()
    build.hold.set()
    for task in waiting:
        with pytest.raises(RuntimeError, match="database is down"):
            await task
    build.fail = False
    assert await cache.get("a", build) == b"page 2"


async def test_a_caller_that_goes_away_does_not_cancel_the_build() -> None:
    cache = PageCache(2.0)
    build = Builder()
    build.hold = asyncio.Event()
    leaving = asyncio.create_task(cache.get("a", build))
    staying = asyncio.create_task(cache.get("a", build))
    await settle()
    leaving.cancel()
    await settle()
    build.hold.set()
    assert await staying == b"page 1"
    assert leaving.cancelled()
    assert build.calls == 1


async def test_zero_ttl_disables_it_and_size_is_bounded() -> None:
    off = PageCache(0)
    build = Builder()
    await off.get("a", build)
    assert await off.get("a", build) == b"page 2"
    cache = PageCache(60.0)
    counted = Builder()
    for n in range(MAX_PAGES + 5):
        await cache.get(n, counted)
    assert await cache.get(MAX_PAGES + 4, counted) == f"page {MAX_PAGES + 5}".encode()
    assert counted.calls == MAX_PAGES + 5
    for n in range(MAX_PAGES + 5):
        await cache.get(n, counted)
    assert counted.calls > MAX_PAGES + 5
