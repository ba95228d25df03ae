"""The ARI client and event stream against the real sandbox Asterisk."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import TypeVar

import pytest

from support import wait_until
from voicestatus.ari.client import AriClient
from voicestatus.ari.events import ConnectionState, EventStream
from voicestatus.ari.models import (
    ChannelDtmfReceived,
    Event,
    PlaybackFinished,
    RecordingFinished,
    StasisStart,
)
from voicestatus.audio.decode import read_wav
from voicestatus.errors import AriAuthError, AriNotFound
from voicestatus_dev.analysis import detect_tones, tone
from voicestatus_dev.driver import CallDriver
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

pytestmark = pytest.mark.asterisk

E = TypeVar("E", bound=Event)


class App:
    """A bare Stasis app for these tests: collects its events."""

    def __init__(self, info: SandboxInfo) -> None:
        self.name = f"vs-it-{uuid.uuid4().hex[:6]}"
        self.ari = AriClient(info.ari_url, info.ari_username, info.ari_password)
        self.events: list[Event] = []
        self.stream = EventStream(
            info.ari_url,
            info.ari_username,
            info.ari_password,
            [self.name],
            self.events.append,
            min_delay=0.2,
            max_delay=1.0,
        )

    def of_type(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
async def app(sandbox: Sandbox, sandbox_info: SandboxInfo) -> AsyncIterator[App]:
    test_app = App(sandbox_info)
    sandbox.add_dialplan(
        test_app.name,
        f"[{test_app.name}]\nexten => _X.,1,Stasis({test_app.name},hello,${{EXTEN}})\n same => n,Hangup()\n",
    )
    test_app.stream.start()
    await test_app.stream.wait_connected(10)
    yield test_app
    await test_app.stream.close()
    await test_app.ari.aclose()


async def test_asterisk_info_and_wrong_password(sandbox_info: SandboxInfo) -> None:
    async with AriClient(sandbox_info.ari_url, sandbox_info.ari_username, sandbox_info.ari_password) as ari:
        info = await ari.asterisk_info()
        assert info.system.version.startswith("22.")
        with pytest.raises(AriNotFound):
            await ari.answer("no-such-channel")
    async with AriClient(sandbox_info.ari_url, sandbox_info.ari_username, "wrong") as ari:
        with pytest.raises(AriAuthError):
            await ari.asterisk_info()


async def test_call_dtmf_playback_and_recording(app: App, driver: CallDriver) -> None:
    call = await driver.call("123", app.name, caller_id="101")
    await wait_until(lambda: app.of_type(StasisStart), what="StasisStart")
    start = app.of_type(StasisStart)[0]
    assert start.args == ["hello", "123"]
    assert start.channel.caller.number == "101"
    far = start.channel.id
    await app.ari.answer(far)
    await call.wait_answered()

    await call.dtmf("5#")
    await wait_until(lambda: len(app.of_type(ChannelDtmfReceived)) == 2, what="DTMF on the far half")
    assert [e.digit for e in app.of_type(ChannelDtmfReceived)] == ["5", "#"]

    playback = await app.ari.play(far, "sound:beep")
    await wait_until(
        lambda: any(e.playback.id == playback.id for e in app.of_type(PlaybackFinished)),
        what="the prompt to finish",
    )

    await app.ari.record(far, f"{app.name}-rec", max_duration=10, terminate_on="#")
    await call.say(tone(1000, 1.5))
    await call.dtmf("#")
    await wait_until(lambda: app.of_type(RecordingFinished), what="the recording to finish")
    data = await app.ari.get_stored_recording(f"{app.name}-rec")
    await app.ari.delete_stored_recording(f"{app.name}-rec")
    heard = detect_tones(read_wav(data), [1000, 440])
    assert heard[1000] > 1.0, "the far half recorded the caller's 1 kHz voice"
    assert heard[440] < 0.2

    await app.ari.hangup(far)
    await call.wait_hangup()


async def test_reconnects_after_asterisk_restarts(sandbox: Sandbox, app: App, driver: CallDriver) -> None:
    assert app.stream.state is ConnectionState.CONNECTED
    await _restart(sandbox)
    await wait_until(
        lambda: app.stream.connections >= 2 and app.stream.state is ConnectionState.CONNECTED,
        timeout=30,
        what="the event stream to reconnect",
    )
    await wait_until(
        lambda: driver.stream.state is ConnectionState.CONNECTED, timeout=30, what="the driver to reconnect"
    )
    call = await driver.call("456", app.name, caller_id="102")
    await wait_until(lambda: app.of_type(StasisStart), what="StasisStart after the restart")
    assert app.of_type(StasisStart)[-1].args == ["hello", "456"]
    await app.ari.hangup(app.of_type(StasisStart)[-1].channel.id)
    await call.wait_hangup()


async def _restart(sandbox: Sandbox) -> None:
    await asyncio.to_thread(sandbox.restart)
