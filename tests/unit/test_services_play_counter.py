"""Plays counted in memory: current at once, written in one batch, never lost on a clean stop."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from voicestatus.services.audit import Actor
from voicestatus.services.messages import MessageService, MessageView
from voicestatus.services.operators import OperatorService
from voicestatus.services.play_counter import PendingPlays, PlayCounter
from voicestatus.storage import Database
from voicestatus_dev.testing import ManualClock

ADMIN = Actor("admin", "alice")


async def accept(messages: MessageService, sha: str, ext: str = "101") -> MessageView:
    return await messages.accept(
        ext, 1, sha256=sha, duration=4.0, talk_duration=3.2, loudness_lufs=-20.1, actor=ADMIN
    )


async def test_counts_are_current_before_and_after_the_write(
    messages: MessageService, db: Database, ops: OperatorService, clock: ManualClock
) -> None:
    view = await accept(messages, "a" * 64)
    await messages.record_play(view.id)  # one written directly
    for _ in range(3):
        messages.count_play(view.id)
        clock.advance(timedelta(seconds=1))
    stats = await messages.play_stats(view.id)
    assert stats.count == 4
    await messages.plays.flush()
    other_instance = MessageService(db, ops, clock=clock)
    stored = await other_instance.play_stats(view.id)
    assert stored.count == 4
    assert stored.last_played_at == stats.last_played_at
    assert (await messages.play_stats(view.id)).count == 4, "nothing counted twice"


async def test_a_clean_stop_writes_what_is_left(
    messages: MessageService, db: Database, ops: OperatorService, clock: ManualClock
) -> None:
    view = await accept(messages, "a" * 64)
    messages.plays.start()
    messages.count_play(view.id)
    messages.count_play(view.id)
    await messages.plays.stop()
    assert (await MessageService(db, ops, clock=clock).play_stats(view.id)).count == 2


async def test_a_purged_message_does_not_lose_the_other_counts(messages: MessageService) -> None:
    kept = await accept(messages, "a" * 64)
    messages.count_play(kept.id)
    messages.count_play(999_999)  # purged meanwhile
    await messages.plays.flush()
    assert (await messages.play_stats(kept.id)).count == 1
    assert messages.plays.pending(999_999) is None


async def test_a_failed_write_keeps_the_counts_for_the_next_try() -> None:
    written: list[dict[int, int]] = []
    fail = [True]

    async def write(batch: Mapping[int, PendingPlays]) -> None:
        if fail.pop() if fail else False:
            raise OSError("database away")
        written.append({k: v.count for k, v in batch.items()})

    counter = PlayCounter(write, interval=3600)
    counter.add(1)
    await counter.flush()
    counter.add(1)
    counter.add(2)
    await counter.flush()
    assert written == [{1: 2, 2: 1}]
