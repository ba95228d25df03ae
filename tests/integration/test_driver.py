"""The call driver against the real sandbox: listening hears the far side and never holds the keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from support import wait_until
from voicestatus.ari.client import AriClient
from voicestatus.ari.events import EventStream
from voicestatus.ari.models import ChannelDtmfReceived, Event, PlaybackFinished, StasisStart
from voicestatus_dev.analysis import detect_tones, tone
from voicestatus_dev.driver import CallDriver, DriverCall
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

pytestmark = pytest.mark.asterisk


class FarSide:
    """A bare Stasis app holding the ``;2`` half of driver calls."""

    def __init__(self, info: SandboxInfo) -> None:
        self.name = f"vs-far-{uuid.uuid4().hex[:6]}"
        self.ari = AriClient(info.ari_url, info.ari_username, info.ari_password)
        self.events: list[Event] = []
        self.stream = EventStream(
            info.ari_url, info.ari_username, info.ari_password, [self.name], self.events.append
        )

    def digits(self) -> list[str]:
        return [e.digit for e in self.events if isinstance(e, ChannelDtmfReceived)]

    def finished(self, playback_id: str) -> bool:
        return any(isinstance(e, PlaybackFinished) and e.playback.id == playback_id for e in self.events)


@pytest.fixture
async def far(sandbox: Sandbox, sandbox_info: SandboxInfo) -> AsyncIterator[FarSide]:
    side = FarSide(sandbox_info)
    sandbox.add_dialplan(
        side.name, f"[{side.name}]\nexten => _X.,1,Stasis({side.name})\n same => n,Hangup()\n"
    )
    side.stream.start()
    await side.stream.wait_connected(10)
    yield side
    await side.stream.close()
    await side.ari.aclose()


async def answered_call(far: FarSide, driver: CallDriver) -> tuple[str, DriverCall]:
    call = await driver.call("200", far.name, caller_id="101")
    await wait_until(lambda: any(isinstance(e, StasisStart) for e in far.events), what="the far half")
    far_id = next(e.channel.id for e in far.events if isinstance(e, StasisStart))
    await far.ari.answer(far_id)
    await call.wait_answered()
    return far_id, call


async def test_keys_reach_the_far_side_while_listening(far: FarSide, driver: CallDriver) -> None:
    far_id, call = await answered_call(far, driver)
    await call.start_listening()
    await call.dtmf("7")
    await wait_until(lambda: far.digits() == ["7"], timeout=1.0, what="the key on the far half")
    await call.dtmf("#")
    await wait_until(lambda: far.digits() == ["7", "#"], timeout=1.0, what="the second key")
    await call.stop_listening()
    await far.ari.hangup(far_id)
    await call.wait_hangup()


async def test_listening_hears_the_far_side_not_the_callers_own_voice(
    far: FarSide, driver: CallDriver
) -> None:
    far_id, call = await answered_call(far, driver)
    await call.start_listening()
    playback = await far.ari.play(far_id, f"sound:{driver.stage_audio(tone(1000, 1.5))}")
    await wait_until(lambda: far.finished(playback.id), what="the far side's tone to finish")
    await call.say(tone(440, 1.0))
    heard = detect_tones(await call.stop_listening(), [1000, 440])
    assert heard[1000] > 1.0, "the phone heard the far side's 1 kHz tone"
    assert heard[440] < 0.2, "what the phone says is not part of what it hears"
    await far.ari.hangup(far_id)
    await call.wait_hangup()


async def test_listening_survives_the_far_side_hanging_up(far: FarSide, driver: CallDriver) -> None:
    far_id, call = await answered_call(far, driver)
    await call.start_listening()
    playback = await far.ari.play(far_id, f"sound:{driver.stage_audio(tone(800, 1.0))}")
    await wait_until(lambda: far.finished(playback.id), what="the far side's tone to finish")
    await far.ari.hangup(far_id)
    await call.wait_hangup()
    heard = await call.stop_listening()
    assert detect_tones(heard, [800])[800] > 0.5, "what was heard before the hang-up is kept"
    assert not driver.snoops, "the listening channel is gone with the call"
