"""MessageService.current_for: a page of operators' messages and play counts in one query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from voicestatus.services.audit import Actor
from voicestatus.services.messages import MessageService, MessageView
from voicestatus.services.operators import OperatorService
from voicestatus.storage import Database
from voicestatus_dev.testing import ManualClock

ADMIN = Actor("admin", "alice")


@pytest.fixture
def messages(db: Database, clock: ManualClock) -> MessageService:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    ops = OperatorService(db, is_allowed=lambda e: e.startswith("1"), clock=clock, pin_hasher=cheap)
    return MessageService(db, ops, clock=clock)


async def accept(messages: MessageService, ext: str, status: int, digit: str) -> MessageView:
    return await messages.accept(
        ext, status, sha256=digit * 64, duration=4.0, talk_duration=3.0, loudness_lufs=-20.0, actor=ADMIN
    )


async def test_each_operator_gets_exactly_its_current_messages_and_counts(
    messages: MessageService, clock: ManualClock
) -> None:
    await accept(messages, "101", 1, "a")
    clock.advance(timedelta(minutes=1))
    replaced_by = await accept(messages, "101", 1, "b")
    second_status = await accept(messages, "101", 2, "c")
    other = await accept(messages, "104", 1, "d")
    await accept(messages, "103", 3, "e")
    await messages.delete("103", 3, actor=ADMIN)
    await messages.record_play(replaced_by.id)
    clock.advance(timedelta(seconds=30))
    await messages.record_play(replaced_by.id)

    page = await messages.current_for(["104", "101", "102", "103", "201"])

    assert list(page) == ["104", "101", "102", "103", "201"]
    assert [view.sha256[0] for view, _ in page["101"]] == ["b", "c"]
    assert [view for view, _ in page["101"]] == [replaced_by, second_status]
    assert [view for view, _ in page["104"]] == [other]
    assert page["102"] == page["103"] == page["201"] == []
    stats = {view.id: stat for views in page.values() for view, stat in views}
    assert (stats[replaced_by.id].count, stats[replaced_by.id].last_played_at) == (2, clock.now)
    assert (stats[second_status.id].count, stats[second_status.id].last_played_at) == (0, None)


async def test_the_page_agrees_with_asking_operator_by_operator(
    messages: MessageService, clock: ManualClock
) -> None:
    for n, ext in enumerate(["101", "102", "105"]):
        for status in range(1, n + 2):
            view = await accept(messages, ext, status, "0123456789"[status])
            for _ in range(status):
                await messages.record_play(view.id)
            clock.advance(timedelta(seconds=1))

    page = await messages.current_for(["101", "102", "105"])

    for ext, entries in page.items():
        assert [view for view, _ in entries] == await messages.current_all(ext)
        for view, stat in entries:
            assert stat == await messages.play_stats(view.id)


async def test_an_empty_page_needs_no_operators(messages: MessageService) -> None:
    assert await messages.current_for([]) == {}
