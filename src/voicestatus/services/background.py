"""``PeriodicTask``: one background task that repeats a step until stopped.

The expiry watcher, the retention purge and the play counter each run a
loop beside the service; this is their one copy of the start/stop
bookkeeping, so each of them only says what one round does and how long to
wait before the next.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

# One round of work; returns the seconds to wait before the next one.
Step = Callable[[], Awaitable[float]]


class PeriodicTask:
    """Runs ``step`` over and over in one asyncio task, waiting what it returns in between.

    ``step`` handles its own errors (each owner logs and counts them its own
    way); an exception that escapes it ends the task. ``wake()`` cuts the
    current wait short, for a step that must react to a change at once.
    ``stop()`` cancels a step in progress, unless ``interrupt`` is false: then
    the step in progress finishes (a batch being written is never cut off
    halfway) and no further one starts.
    """

    def __init__(self, step: Step, *, name: str, interrupt: bool = True) -> None:
        self._step = step
        self._name = name
        self._interrupt = interrupt
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self, *, first_delay: float = 0.0) -> None:
        """Start the loop (idempotent); the first round runs after ``first_delay`` seconds."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(first_delay), name=self._name)

    def wake(self) -> None:
        """End the current wait now: the next round starts at once."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop the loop and wait until it has ended."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        if self._interrupt:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self, first_delay: float) -> None:
        await self._wait(first_delay)
        while not self._stopping:
            # Cleared before the step, so a wake() during it starts the next round at once.
            self._wake.clear()
            delay = await self._step()
            await self._wait(delay)

    async def _wait(self, seconds: float) -> None:
        if seconds > 0 and not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), seconds)
