"""PeriodicTask: the one start/stop loop of the background services."""

from __future__ import annotations

import asyncio

from support import wait_until
from voicestatus.services.background import PeriodicTask


async def test_rounds_repeat_and_wake_cuts_the_wait_short() -> None:
    rounds: list[int] = []

    async def step() -> float:
        rounds.append(len(rounds))
        return 3600.0

    task = PeriodicTask(step, name="test")
    task.start()
    task.start()  # idempotent: still one loop
    await wait_until(lambda: len(rounds) == 1)
    task.wake()
    await wait_until(lambda: len(rounds) == 2)
    await task.stop()
    assert not task.running
    assert rounds == [0, 1]


async def test_the_first_round_waits_for_first_delay() -> None:
    rounds: list[int] = []

    async def step() -> float:
        rounds.append(1)
        return 3600.0

    task = PeriodicTask(step, name="test")
    task.start(first_delay=3600.0)
    await asyncio.sleep(0.05)
    await task.stop()
    assert rounds == []


async def test_stop_without_interrupt_lets_the_round_in_progress_finish() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[bool] = []

    async def step() -> float:
        started.set()
        await release.wait()
        finished.append(True)
        return 0.01

    task = PeriodicTask(step, name="test", interrupt=False)
    task.start()
    await started.wait()
    stopping = asyncio.create_task(task.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done(), "stop waits for the round in progress"
    release.set()
    await stopping
    assert finished == [True], "that round finished and no other started"


async def test_stop_interrupts_a_round_by_default() -> None:
    started = asyncio.Event()

    async def step() -> float:
        started.set()
        await asyncio.sleep(3600)
        return 0.0

    task = PeriodicTask(step, name="test")
    task.start()
    await started.wait()
    await asyncio.wait_for(task.stop(), 5)
