"""The operator's phone menu on the real sandbox Asterisk, driven like a phone."""

from __future__ import annotations

import io
import wave

import numpy as np
import pyloudnorm
import pytest

from support import wait_activity, wait_until
from voicestatus.app import Service
from voicestatus.asterisk.driver import CallDriver, DriverCall
from voicestatus.audio.analysis import detect_tones, tone
from voicestatus.audio.decode import read_wav

pytestmark = pytest.mark.asterisk

MENU = "voicestatus-menu"


async def dial_menu(service: Service, driver: CallDriver, caller: str = "101") -> DriverCall:
    """Dial the feature code and wait, like a person, until the menu is being read out."""
    call = await driver.call("*600", MENU, caller_id=caller)
    await call.wait_answered()
    await wait_activity(service, "playing")
    return call


async def record_tone(service: Service, call: DriverCall, freq: float, seconds: float = 2.0) -> None:
    """Press record, speak a tone after the beep, end with #."""
    await call.dtmf("1")
    await wait_activity(service, "recording")
    await call.say(tone(freq, seconds))
    await call.dtmf("#")
    await wait_activity(service, "waiting-for-key")


def loudness(wav: bytes) -> float:
    pcm = read_wav(wav)
    return float(pyloudnorm.Meter(pcm.rate).integrated_loudness(pcm.samples.astype(np.float64)))


async def test_record_and_accept(service: Service, driver: CallDriver) -> None:
    call = await dial_menu(service, driver)
    await record_tone(service, call, 600)
    await call.dtmf("1")
    await wait_until(
        lambda: (
            call.hung_up
            or (
                service.router.sessions
                and "sound:vm-msgsaved" in next(iter(service.router.sessions.values())).played
            )
        ),
        what="the saved prompt",
    )
    message = await service.messages.playable("101")
    assert message is not None, "the accepted message is live"
    stored = service.media.path(message.sha256, "wav").read_bytes()
    heard = detect_tones(read_wav(stored), [600, 1000])
    assert heard[600] > 1.5
    assert heard[1000] < 0.2
    assert abs(loudness(stored) - service.config.media.target_lufs) < 1.5
    with wave.open(io.BytesIO(service.media.path(message.sha256, "wav16").read_bytes())) as w16:
        assert w16.getframerate() == 16000
    await call.dtmf("*")
    await call.wait_hangup(15)
    entries, _ = await service.audit.list(extension="101")
    assert [e.action for e in entries] == ["message.accept"]
    assert entries[0].actor.startswith("phone:Local/")
