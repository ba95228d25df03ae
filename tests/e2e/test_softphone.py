"""Real SIP softphones registered to the sandbox, as an operator and a caller use them.

Unlike the ARI call driver (Local channels, perfect media from the first
frame), these phones are PJSIP endpoints with real RTP: what they record is
what a desk phone's loudspeaker would play, so a clipped start of the message
or a silent caller would show here. Each call records from its 200 OK on, and
the test reports how long after the answer the first sound arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from caller_support import BODY_HZ, MARKER_HZ, capture_sessions, first_session, publish, with_sections
from softphone import Softphone
from support import wait_activity, wait_until
from voicestatus.app import Service
from voicestatus.asterisk.dialplan import render_dialplan
from voicestatus.audio.decode import read_wav
from voicestatus.audio.pcm import Pcm
from voicestatus.audio.wav import encode_wav
from voicestatus.config import Config
from voicestatus.flows import prompts
from voicestatus_dev.analysis import concat, detect_tones, first_sound_at, silence, silence_ratio, tone
from voicestatus_dev.sandbox import Sandbox

pytestmark = pytest.mark.asterisk
log = logging.getLogger(__name__)

VOICE_HZ = 700


@pytest.fixture
def short_ring(service_config: Config, sandbox: Sandbox) -> Iterator[None]:
    """Operators' phones ring for 3 s before the caller path takes over."""
    config = with_sections(service_config, asterisk={"ring_seconds": 3})
    sandbox.set_dialplan(render_dialplan(config, "asterisk"))
    yield
    sandbox.set_dialplan(render_dialplan(Config(), "asterisk"))


async def test_operator_records_a_message_from_a_softphone(
    service: Service, phones: dict[str, Softphone], tmp_path: Path
) -> None:
    operator = phones["101"]
    voice = tmp_path / "voice.wav"
    voice.write_bytes(encode_wav(concat(tone(VOICE_HZ, 2.0, rate=16000), silence(0.3, 16000)).samples, 16000))
    review = prompts.review_menu(service.config.phone.keys)[0]

    await operator.call("*600")
    session = await wait_activity(service, "playing")
    await operator.dtmf("1")
    await wait_activity(service, "recording")
    await operator.say(voice)
    await operator.dtmf("#")
    await wait_until(lambda: review in session.played, 15, "the review menu")
    await operator.dtmf("1")
    await wait_until(lambda: prompts.SAVED in session.played, 15, "the saved prompt")
    await operator.hangup()

    message = await service.messages.playable("101")
    assert message is not None, "the softphone recording was accepted"
    stored = read_wav(service.media.path(message.sha256, "wav").read_bytes())
    assert detect_tones(stored, [VOICE_HZ, 1000])[VOICE_HZ] > 1.5


async def test_unreachable_operator_message_starts_unclipped_on_a_softphone(
    service: Service, phones: dict[str, Softphone], tmp_path: Path
) -> None:
    await publish(service, "103")  # 300 ms marker, then the body
    pcm = await _listen(phones["102"], "103", tmp_path)  # 103 has no phone registered
    marker = detect_tones(pcm, [MARKER_HZ, BODY_HZ], window=0.02)
    assert marker[MARKER_HZ] >= 0.25, f"the start of the message was clipped: {marker}"
    assert marker[BODY_HZ] > 1.2


async def test_operator_who_does_not_answer_has_the_caller_hear_the_message(
    short_ring: None, service: Service, phones: dict[str, Softphone], tmp_path: Path
) -> None:
    await publish(service, "101")
    sessions = capture_sessions(service)
    pcm = await _listen(phones["102"], "101", tmp_path)
    assert await phones["101"].rings() == 1, "the operator's phone rang"
    assert (await first_session(sessions)).args[2:] == ["noanswer"]
    tones = detect_tones(pcm, [MARKER_HZ, BODY_HZ], window=0.02)
    assert tones[MARKER_HZ] >= 0.25, f"the start of the message was clipped: {tones}"
    assert tones[BODY_HZ] > 1.2


async def test_operator_without_a_message_has_the_caller_hear_the_template(
    service: Service, phones: dict[str, Softphone], tmp_path: Path
) -> None:
    sessions = capture_sessions(service)
    pcm = await _listen(phones["102"], "104", tmp_path)
    assert (await first_session(sessions)).played == [
        "sound:vm-theperson",
        "digits:104",
        "sound:vm-isunavail",
    ]
    assert silence_ratio(pcm) < 0.6, "the caller heard the spoken template"


async def _listen(phone: Softphone, extension: str, tmp_path: Path) -> Pcm:
    """Call ``extension`` and return all the phone heard until the far end hung up."""
    heard = tmp_path / f"heard-{extension}.wav"
    await phone.call(extension, record=heard)
    offset = await phone.wait_disconnect(30)
    pcm = read_wav(heard.read_bytes())
    first = first_sound_at(pcm)
    assert first is not None, "the phone heard something"
    assert offset is not None, "the phone recorded from the answer on"
    log.info("calling %s: the phone heard the first sound %.3f s after the answer", extension, offset + first)
    return pcm
