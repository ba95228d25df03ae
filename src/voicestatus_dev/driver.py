"""A call driver: places calls into Asterisk and plays the caller's part.

The integration, end-to-end and security tests use it, so no phone is
needed to exercise a flow. A call is a Local channel pair: half ``;1`` sits
in the driver's own Stasis app and acts as the phone (it sends DTMF, speaks
audio, and records what it hears); half ``;2`` runs the dialplan exactly as
a real call would, reaching ``Stasis(voicestatus,...)``.

Listening records a snoop channel on ``;1``, not ``;1`` itself: Asterisk
runs one channel's ARI commands one after another, so a recording on the
phone's channel would hold back every key it sends until the recording
stops. The snoop hears the same audio and leaves the phone free.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from voicestatus.ari.client import AriClient
from voicestatus.ari.events import EventStream
from voicestatus.ari.models import (
    ChannelDestroyed,
    ChannelStateChange,
    Event,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    StasisEnd,
    StasisStart,
)
from voicestatus.audio.decode import read_wav
from voicestatus.audio.pcm import Pcm
from voicestatus.audio.wav import encode_wav
from voicestatus.errors import AriError

log = logging.getLogger(__name__)


class DriverCall:
    """The phone end of one test call."""

    def __init__(self, driver: CallDriver, channel_id: str) -> None:
        self.driver = driver
        self.id = channel_id
        self.events: list[Event] = []
        self.in_app = False
        self.up = False
        self.hung_up = False
        self._changed = asyncio.Event()
        self._listening: tuple[str, str] | None = None  # (snoop channel id, recording name)
        self._snoop_events: list[Event] = []

    def _feed(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, StasisStart):
            self.in_app = True
        # Answered *and* in the driver's app: only then do DTMF, speaking and
        # listening work (Asterisk refuses them for a channel not yet in Stasis,
        # and its state can reach Up a moment before it enters the app).
        if (
            self.in_app
            and isinstance(event, (StasisStart, ChannelStateChange))
            and event.channel.state == "Up"
        ):
            self.up = True
        if isinstance(event, (StasisEnd, ChannelDestroyed)):
            self.hung_up = True
        self._notify()

    def _feed_snoop(self, event: Event) -> None:
        self._snoop_events.append(event)
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until ``predicate()`` holds; fail with ``what`` after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_event(self, event_type: type[Event], timeout: float, *, since: int = 0) -> Event:
        found: list[Event] = []

        def match() -> bool:
            found[:] = [e for e in self.events[since:] if isinstance(e, event_type)]
            return bool(found)

        await self.wait_for(match, timeout, event_type.__name__)
        return found[0]

    async def wait_answered(self, timeout: float = 10) -> None:
        await self.wait_for(lambda: self.up or self.hung_up, timeout, "the call to be answered")
        if not self.up:
            raise AssertionError("the call ended without being answered")

    async def wait_hangup(self, timeout: float = 10) -> None:
        await self.wait_for(lambda: self.hung_up, timeout, "the far end to hang up")

    async def dtmf(self, digits: str, *, between_ms: int = 120, duration_ms: int = 100) -> None:
        await self.driver.ari.send_dtmf(self.id, digits, between_ms=between_ms, duration_ms=duration_ms)

    async def say(self, pcm: Pcm, *, timeout: float = 120) -> None:
        """Speak ``pcm`` into the call (as the caller's voice) and wait until it is played."""
        name = self.driver.stage_audio(pcm)
        mark = len(self.events)
        playback = await self.driver.ari.play(self.id, f"sound:{name}")
        await self.wait_for(
            lambda: (
                self.hung_up
                or any(
                    isinstance(e, PlaybackFinished) and e.playback.id == playback.id
                    for e in self.events[mark:]
                )
            ),
            timeout,
            "the caller's audio to finish",
        )

    async def start_listening(self, *, timeout: float = 10) -> None:
        """Record what the caller hears from now on (keys can still be sent meanwhile)."""
        if self._listening is not None:
            raise RuntimeError("already listening")
        snoop_id = f"vs-snoop-{uuid.uuid4().hex[:12]}"
        name = f"vs-driver-{uuid.uuid4().hex}"
        self._snoop_events.clear()
        self.driver.snoops[snoop_id] = self
        try:
            # On ;1, "in" is the audio arriving from ;2: what the phone hears.
            await self.driver.ari.snoop(self.id, app=self.driver.app, spy="in", snoop_id=snoop_id)
            await self.wait_for(
                lambda: self.hung_up or any(isinstance(e, StasisStart) for e in self._snoop_events),
                timeout,
                "the listening channel to start",
            )
            await self.driver.ari.record(snoop_id, name, fmt="wav", if_exists="overwrite")
        except BaseException:
            await self._drop_snoop(snoop_id)
            raise
        self._listening = (snoop_id, name)

    async def stop_listening(self, *, timeout: float = 10) -> Pcm:
        """Stop recording and return what the caller heard (8 kHz)."""
        if self._listening is None:
            raise RuntimeError("start_listening() was not called")
        (snoop_id, name), self._listening = self._listening, None
        try:
            with contextlib.suppress(AriError):
                await self.driver.ari.stop_recording(name)
            await self.wait_for(
                lambda: any(
                    isinstance(e, (RecordingFinished, RecordingFailed)) and e.recording.name == name
                    for e in self._snoop_events
                ),
                timeout,
                "the listening recording to finish",
            )
        finally:
            await self._drop_snoop(snoop_id)
        data = await self.driver.ari.get_stored_recording(name)
        await self.driver.ari.delete_stored_recording(name)
        return read_wav(data)

    async def _drop_snoop(self, snoop_id: str) -> None:
        with contextlib.suppress(AriError):
            await self.driver.ari.hangup(snoop_id)
        self.driver.snoops.pop(snoop_id, None)

    async def listen(self, seconds: float) -> Pcm:
        """Record for ``seconds`` (or until the far end hangs up) and return it."""
        await self.start_listening()
        with contextlib.suppress(AssertionError):
            await self.wait_for(lambda: self.hung_up, seconds, "hang-up")
        return await self.stop_listening()

    async def hangup(self) -> None:
        with contextlib.suppress(AriError):
            await self.driver.ari.hangup(self.id)


class CallDriver:
    """Places calls as Local channel pairs; one per test session is plenty."""

    def __init__(
        self,
        ari_url: str,
        username: str,
        password: str,
        *,
        sounds_dir: Path,
        app: str | None = None,
    ) -> None:
        self.app = app or f"vs-driver-{uuid.uuid4().hex[:8]}"
        self.ari = AriClient(ari_url, username, password, timeout=10)
        # Reconnect quickly: tests restart Asterisk, and the next call must not
        # wait out a long backoff.
        self.stream = EventStream(
            ari_url, username, password, [self.app], self._on_event, min_delay=0.1, max_delay=1.0
        )
        self.calls: dict[str, DriverCall] = {}
        self.snoops: dict[str, DriverCall] = {}  # listening channel id -> its call
        self._stage_dir = sounds_dir / "vs-driver"

    async def start(self, timeout: float = 30) -> None:
        self._stage_dir.mkdir(parents=True, exist_ok=True)
        self.stream.start()
        await self.stream.wait_connected(timeout)

    async def close(self) -> None:
        for call in list(self.calls.values()):
            if not call.hung_up:
                await call.hangup()
        await self.stream.close()
        await self.ari.aclose()

    def _on_event(self, event: Event) -> None:
        channel_id = event.channel_id
        if channel_id is None:
            target = getattr(
                getattr(event, "playback", None) or getattr(event, "recording", None), "target_uri", ""
            )
            channel_id = target.partition("channel:")[2] or None
        if not channel_id:
            return
        if (call := self.calls.get(channel_id)) is not None:
            call._feed(event)
        elif (listener := self.snoops.get(channel_id)) is not None:
            listener._feed_snoop(event)

    def stage_audio(self, pcm: Pcm) -> str:
        """Put audio where Asterisk can play it; returns the sound name."""
        name = uuid.uuid4().hex
        path = self._stage_dir / f"{name}.wav"
        path.write_bytes(encode_wav(pcm.samples, pcm.rate))
        return f"vs-driver/{name}"

    async def call(
        self,
        extension: str,
        context: str,
        *,
        caller_id: str = "",
        variables: Mapping[str, str] | None = None,
        timeout: int = 30,
    ) -> DriverCall:
        """Dial ``extension@context``; the returned call is the phone end (``;1``)."""
        # A call placed while the driver's app is not registered (Asterisk just
        # restarted) would never reach it.
        await self.stream.wait_connected(30)
        channel_id = f"vs-drv-{uuid.uuid4().hex[:12]}"
        call = DriverCall(self, channel_id)
        self.calls[channel_id] = call
        await self.ari.originate(
            f"Local/{extension}@{context}",
            app=self.app,
            caller_id=caller_id or None,
            channel_id=channel_id,
            other_channel_id=f"{channel_id}-2",
            variables=variables,
            timeout=timeout,
        )
        return call
