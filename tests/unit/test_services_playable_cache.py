"""PlayableCache: changes are heard at once, other instances' within the TTL, never an expired message."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from voicestatus.services.audit import Actor
from voicestatus.services.messages import MessageService, MessageView
from voicestatus.services.operators import OperatorService
from voicestatus.services.playable_cache import PlayableCache
from voicestatus.storage import Database
from voicestatus_dev.testing import ManualClock

ADMIN = Actor("admin", "alice")
SHA_A, SHA_B = "a" * 64, "b" * 64


class Ticker:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingMessages(MessageService):
    reads = 0

    async def playable_until(self, extension: str) -> tuple[MessageView | None, datetime | None]:
        self.reads += 1
        return await super().playable_until(extension)


@pytest.fixture
def messages(db: Database, ops: OperatorService, clock: ManualClock) -> CountingMessages:
    return CountingMessages(db, ops, clock=clock)


async def accept(messages: MessageService, sha: str, ext: str = "101") -> MessageView:
    return await messages.accept(
        ext, 1, sha256=sha, duration=4.0, talk_duration=3.2, loudness_lufs=-20.1, actor=ADMIN
    )


async def test_a_change_through_this_service_is_heard_at_once(messages: CountingMessages) -> None:
    cache = PlayableCache(messages, ttl=3600)
    assert await cache.playable("101") is None
    await accept(messages, SHA_A)
    await cache.invalidate("101")  # what ChangeNotifier.notify does (app.py subscribes the cache)
    first = await cache.playable("101")
    assert first is not None
    assert first.sha256 == SHA_A
    await accept(messages, SHA_B)
    await cache.invalidate("101")
    second = await cache.playable("101")
    assert second is not None
    assert second.sha256 == SHA_B


async def test_another_instances_change_is_heard_after_the_ttl(messages: CountingMessages) -> None:
    ticker = Ticker()
    cache = PlayableCache(messages, ttl=2.0, monotonic=ticker)
    await accept(messages, SHA_A)
    assert (await cache.playable("101")) is not None
    await messages.delete("101", 1, actor=ADMIN)  # no notification reaches this cache
    ticker.now += 1.0
    assert (await cache.playable("101")) is not None, "within the TTL the old answer stands"
    ticker.now += 1.5
    assert await cache.playable("101") is None


async def test_an_expired_message_is_never_played(
    messages: CountingMessages, ops: OperatorService, clock: ManualClock
) -> None:
    cache = PlayableCache(messages, ttl=3600, clock=clock)
    await accept(messages, SHA_A)
    await ops.update("101", expires_at=clock.now + timedelta(minutes=5), actor=ADMIN)
    assert await cache.playable("101") is not None
    clock.advance(timedelta(minutes=6))
    assert await cache.playable("101") is None


async def test_repeated_and_concurrent_calls_share_one_read(messages: CountingMessages) -> None:
    cache = PlayableCache(messages, ttl=3600)
    await accept(messages, SHA_A)
    views = await asyncio.gather(*(cache.playable("101") for _ in range(20)))
    assert {v.sha256 for v in views if v is not None} == {SHA_A}
    assert await cache.playable("101") == views[0]
    assert messages.reads == 1


async def test_zero_ttl_reads_every_time(messages: CountingMessages) -> None:
    cache = PlayableCache(messages, ttl=0)
    await accept(messages, SHA_A)
    for _ in range(3):
        assert await cache.playable("101") is not None
    assert messages.reads == 3


async def test_not_allowed_extension_has_no_message(messages: CountingMessages) -> None:
    cache = PlayableCache(messages, ttl=3600)
    assert await cache.playable("999") is None
