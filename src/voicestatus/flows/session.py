"""One channel inside our Stasis application, seen as a sequence of awaits.

A flow (menu, unavailable) is written as straight-line code: ``await
call.play(...)``, ``await call.read_digit(...)``. The session turns the
channel's ARI events into those results. When the caller hangs up, every
pending await raises ``CallerHungUp`` so the flow unwinds through its
``finally`` blocks: that is where a half-made recording gets thrown away.

The session is the only way a flow (or the router) reaches Asterisk: it talks
to a :class:`~voicestatus.flows.call_port.CallPort`, so the unit tests can
run every flow over a fake that mypy holds to the same protocol.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from voicestatus.ari.models import (
    Channel,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    Event,
    LiveRecording,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    RecordingStarted,
    StasisEnd,
)
from voicestatus.errors import AriError, AriNotFound
from voicestatus.flows.call_port import CallPort

log = logging.getLogger(__name__)

T = TypeVar("T")

DTMF_KEYS = frozenset("0123456789*#ABCD")


class CallerHungUp(Exception):
    """The channel left Stasis (hang-up); the flow must stop and clean up."""


class CallSession:
    """The actions a flow performs on its channel, and the events that answer them."""

    def __init__(self, ari: CallPort, channel: Channel, args: Sequence[str]) -> None:
        # Private, so a flow cannot bypass the session's hang-up handling (``_guard``).
        self._port = ari
        self.channel = channel
        self.args = list(args)
        self.language = channel.language or "en"
        self.ended = False
        self._digits: collections.deque[str] = collections.deque()
        self._waiters: set[asyncio.Future[Event]] = set()
        self._changed = asyncio.Event()
        self.played: list[str] = []
        self.activity = "starting"
        # Results that can arrive before the REST call that caused them returns.
        self._finished_playbacks: dict[str, str] = {}
        # How the last ``play()`` ended: "done", "failed" (e.g. media not fetched), "stopped".
        self.last_playback_state = ""
        self._recordings: dict[str, Event] = {}

    @property
    def id(self) -> str:
        return self.channel.id

    # -- event intake (called by the router, never blocks) ---------------------------

    def feed(self, event: Event) -> None:
        if isinstance(event, ChannelDtmfReceived):
            if event.digit in DTMF_KEYS:
                self._digits.append(event.digit)
        elif isinstance(event, PlaybackFinished):
            self._finished_playbacks[event.playback.id] = event.playback.state
        elif isinstance(event, (RecordingStarted, RecordingFinished, RecordingFailed)):
            self._recordings[event.recording.name] = event
        elif isinstance(event, (StasisEnd, ChannelDestroyed, ChannelHangupRequest)):
            self.ended = True
        for waiter in list(self._waiters):
            if not waiter.done():
                waiter.set_result(event)
        self._changed.set()

    async def _next_event(self, deadline: float | None) -> Event | None:
        """The next event, or None at the deadline; raises when the caller is gone."""
        if self.ended:
            raise CallerHungUp
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Event] = loop.create_future()
        self._waiters.add(waiter)
        try:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                event = await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                return None
        finally:
            self._waiters.discard(waiter)
        if self.ended:
            raise CallerHungUp
        return event

    # -- channel actions --------------------------------------------------------------

    async def answer(self) -> None:
        await self._guard(self._port.answer(self.id))

    async def hangup(self) -> None:
        with contextlib.suppress(AriNotFound):
            await self._port.hangup(self.id)

    async def continue_in_dialplan(self, label: str | None = None) -> None:
        with contextlib.suppress(AriNotFound):
            await self._port.continue_in_dialplan(self.id, label=label)

    async def get_variable(self, name: str) -> str | None:
        return await self._guard(self._port.get_variable(self.id, name))

    async def set_variable(self, name: str, value: str) -> None:
        await self._guard(self._port.set_variable(self.id, name, value))

    # -- recordings on Asterisk (not guarded: a missing recording is not a hang-up) -------

    async def fetch_recording(self, name: str) -> bytes:
        """The stored recording's file, as ``record`` left it on Asterisk."""
        return await self._port.get_stored_recording(name)

    async def cancel_recording(self, name: str) -> None:
        """Stop a live recording and throw its file away."""
        await self._port.cancel_recording(name)

    async def delete_recording(self, name: str) -> None:
        """Delete a stored recording from Asterisk."""
        await self._port.delete_stored_recording(name)

    def take_digit(self) -> str | None:
        return self._digits.popleft() if self._digits else None

    def clear_digits(self) -> None:
        self._digits.clear()

    async def play(self, media: str | Sequence[str], *, interruptible: bool = False) -> str | None:
        """Play media in order; with ``interruptible`` a key press stops it.

        Returns the key that interrupted, left in the digit buffer for the
        caller of ``read_digit``; None when the media played to the end.
        """
        items = [media] if isinstance(media, str) else list(media)
        if not items:
            return None
        if interruptible and self._digits:
            return self._digits[0]
        self.played.extend(items)
        self.activity = "playing"
        playback_id = f"vs-{uuid.uuid4().hex}"
        await self._guard(self._port.play(self.id, items, lang=self.language, playback_id=playback_id))
        try:
            while True:
                if interruptible and self._digits:
                    with contextlib.suppress(AriError):
                        await self._port.stop_playback(playback_id)
                    self.last_playback_state = "stopped"
                    return self._digits[0]
                if playback_id in self._finished_playbacks:
                    self.last_playback_state = self._finished_playbacks.pop(playback_id)
                    return None
                await self._next_event(None)
        except CallerHungUp:
            raise
        except BaseException:
            with contextlib.suppress(Exception):
                await self._port.stop_playback(playback_id)
            raise

    async def read_digit(self, timeout: float) -> str | None:
        """One key press within ``timeout`` seconds (buffered presses count)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.activity = "waiting-for-key"
        while True:
            digit = self.take_digit()
            if digit is not None:
                return digit
            if await self._next_event(deadline) is None and not self._digits:
                return None

    async def read_digits(
        self, *, max_digits: int, timeout: float, terminator: str = "#", first_timeout: float | None = None
    ) -> str:
        """Up to ``max_digits`` keys, ended early by ``terminator`` or a pause."""
        collected = ""
        wait = first_timeout if first_timeout is not None else timeout
        while len(collected) < max_digits:
            digit = await self.read_digit(wait)
            if digit is None or digit == terminator:
                break
            collected += digit
            wait = timeout
        return collected

    async def record(
        self,
        *,
        max_duration: int,
        max_silence: int,
        beep: bool = True,
        terminate_on: str = "#",
        name: str | None = None,
    ) -> LiveRecording:
        """Record the caller until ``terminate_on``, silence or max length.

        The recording stays on Asterisk; the caller of this method fetches and
        deletes it (``fetch_recording`` / ``delete_recording``).
        """
        rec_name = name or f"voicestatus-{uuid.uuid4().hex}"
        self.clear_digits()
        await self._guard(
            self._port.record(
                self.id,
                rec_name,
                max_duration=max_duration,
                max_silence=max_silence,
                beep=beep,
                terminate_on=terminate_on,
                if_exists="overwrite",
            )
        )
        self.activity = "beep"
        while True:
            event = self._recordings.get(rec_name)
            if isinstance(event, RecordingStarted):
                self.activity = "recording"
            elif isinstance(event, (RecordingFinished, RecordingFailed)):
                del self._recordings[rec_name]
                self.activity = "recorded"
                self.clear_digits()
                return event.recording
            await self._next_event(None)

    async def _guard(self, call: Awaitable[T]) -> T:
        """Run an ARI call; a 404 on our channel means the caller is gone."""
        try:
            return await call
        except AriNotFound as exc:
            if self.ended or "channel" in exc.message.lower():
                self.ended = True
                raise CallerHungUp from exc
            raise
