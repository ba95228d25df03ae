"""The operator-list page cache: reuse, expiry, clearing on change."""

from __future__ import annotations

from voicestatus.web.page_cache import MAX_PAGES, PageCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_pages_are_reused_until_they_expire() -> None:
    clock = Clock()
    cache = PageCache(2.0, clock=clock)
    cache.put(("admin", 0), b"page")
    assert cache.get(("admin", 0)) == b"page"
    assert cache.get(("admin", 100)) is None
    clock.now += 2.0
    assert cache.get(("admin", 0)) is None


async def test_a_change_clears_every_page() -> None:
    cache = PageCache(60.0)
    cache.put("a", b"1")
    cache.put("b", b"2")
    await cache.on_change("101")
    assert cache.get("a") is None
    assert cache.get("b") is None


def test_zero_ttl_disables_it_and_size_is_bounded() -> None:
    off = PageCache(0)
    off.put("a", b"1")
    assert off.get("a") is None
    cache = PageCache(60.0)
    for n in range(MAX_PAGES + 5):
        cache.put(n, b"x")
    assert cache.get(MAX_PAGES + 4) == b"x"
    assert sum(cache.get(n) is not None for n in range(MAX_PAGES + 5)) <= MAX_PAGES
