"""Uploads take turns to be decoded: a few at once, a bounded line waiting, a clear 503 beyond it."""

from __future__ import annotations

import asyncio
import functools

import pytest

from voicestatus.web.upload import RETRY_AFTER_SECONDS, DecodeSlots, UploadsBusy


class Work:
    """Upload processing that runs until the test lets it finish, and counts how many run at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.running = 0
        self.most = 0
        self.started = asyncio.Queue[int]()
        self.finished = 0

    async def __call__(self, number: int) -> int:
        self.running += 1
        self.most = max(self.most, self.running)
        self.started.put_nowait(number)
        try:
            await self.release.wait()
        finally:
            self.running -= 1
            self.finished += 1
        return number


async def test_at_most_the_configured_number_run_and_the_rest_wait_their_turn() -> None:
    slots, work = DecodeSlots(concurrent=2, queue=8), Work()

    tasks = [asyncio.create_task(slots.run(functools.partial(work, n))) for n in range(6)]
    first = {await work.started.get(), await work.started.get()}
    assert work.running == 2
    assert work.started.empty()
    work.release.set()

    assert await asyncio.gather(*tasks) == list(range(6))
    assert first == {0, 1}
    assert work.most == 2


async def test_a_full_line_is_refused_at_once_with_a_retry_hint() -> None:
    slots, work = DecodeSlots(concurrent=1, queue=1), Work()
    running = asyncio.create_task(slots.run(lambda: work(0)))
    await work.started.get()
    waiting = asyncio.create_task(slots.run(lambda: work(1)))
    refused = asyncio.create_task(slots.run(lambda: work(2)))  # tasks start in order: after `waiting`

    with pytest.raises(UploadsBusy) as caught:
        await refused

    assert caught.value.status_code == 503
    assert caught.value.error_id == "uploads-busy"
    assert caught.value.details["retry_after"] == RETRY_AFTER_SECONDS
    assert "Try again" in caught.value.message
    work.release.set()
    assert [await running, await waiting] == [0, 1]


async def test_a_wait_longer_than_the_bound_is_refused() -> None:
    slots, work = DecodeSlots(concurrent=1, queue=4, wait_seconds=0.05), Work()
    running = asyncio.create_task(slots.run(lambda: work(0)))
    await work.started.get()

    with pytest.raises(UploadsBusy):
        await slots.run(lambda: work(1))

    work.release.set()
    assert await running == 0
    assert work.finished == 1


async def test_a_cancelled_upload_keeps_its_slot_until_its_work_is_done() -> None:
    """The decoding thread cannot be stopped, so its slot is only free when it has finished."""
    slots, work = DecodeSlots(concurrent=1, queue=0), Work()
    request = asyncio.create_task(slots.run(lambda: work(0)))
    await work.started.get()
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request

    with pytest.raises(UploadsBusy):
        await slots.run(lambda: work(1))
    assert work.running == 1
    slots.queue = 1
    after = asyncio.create_task(slots.run(lambda: work(2)))
    work.release.set()

    assert await after == 2
    assert work.most == 1
    assert work.finished == 2


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        DecodeSlots(concurrent=0, queue=1)
