"""The caller path on the real sandbox: callers hear the operator's message or a fallback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from caller_support import (
    AFTER_HZ,
    BODY_HZ,
    MARKER_HZ,
    TEST_DIALPLAN,
    capture_sessions,
    counter,
    dial,
    first_session,
    heard,
    publish,
    with_sections,
)
from support import running
from voicestatus.asterisk.dialplan import render_dialplan
from voicestatus.config import Config, ReasonConfig, config_from_dict
from voicestatus.services.audit import Actor
from voicestatus_dev.analysis import detect_tones, silence_ratio
from voicestatus_dev.driver import CallDriver
from voicestatus_dev.sandbox import Sandbox

pytestmark = pytest.mark.asterisk

UNAVAILABLE = "voicestatus-unavailable"
TEMPLATE = ["sound:vm-theperson", "digits:101", "sound:vm-isunavail"]


@pytest.fixture
def ringing_config(service_config: Config, sandbox: Sandbox) -> Iterator[Config]:
    """Operators ring (never answered) for 2 s behind the generated Dial wrapper."""
    config = with_sections(
        service_config, asterisk={"dial_template": "Local/${EXTEN}@sandbox-ring", "ring_seconds": 2}
    )
    sandbox.set_dialplan(render_dialplan(config, "asterisk"))
    sandbox.add_dialplan("caller-tests", TEST_DIALPLAN)
    yield config
    sandbox.set_dialplan(render_dialplan(Config(), "asterisk"))


async def test_no_answer_plays_the_message_in_full(ringing_config: Config, driver: CallDriver) -> None:
    async with running(ringing_config) as service:
        message = await publish(service)
        call = await dial(driver, "101", "voicestatus-dial")
        pcm = await heard(call)
        tones = detect_tones(pcm, [MARKER_HZ, BODY_HZ], window=0.02)
        # The whole 300 ms marker, to one 20 ms analysis window: nothing of the start was lost.
        assert tones[MARKER_HZ] >= 0.29, f"the start of the message was clipped: {tones}"
        assert tones[BODY_HZ] > 1.2
        stats = await service.messages.play_stats(message.id)
        assert stats.count == 1
        assert counter(service, "voicestatus_message_plays", reason="noanswer") == 1


async def test_unregistered_endpoint_is_unavail(
    service_config: Config, sandbox: Sandbox, driver: CallDriver
) -> None:
    config = with_sections(
        service_config,
        caller={"unavail": ReasonConfig(play_message=False, fallback="template")},
    )
    sandbox.set_dialplan(render_dialplan(config, "asterisk"))  # PJSIP/${EXTEN}: 105 is not registered
    async with running(config) as service:
        sessions = capture_sessions(service)
        await publish(service, "105")
        call = await dial(driver, "105", "voicestatus-dial")
        session = await first_session(sessions)
        pcm = await heard(call)
        assert session.played == ["sound:vm-theperson", "digits:105", "sound:vm-isunavail"]
        assert detect_tones(pcm, [BODY_HZ])[BODY_HZ] == 0, "unavail is configured not to play the message"
        assert silence_ratio(pcm) < 0.8
        assert counter(service, "voicestatus_fallbacks", kind="template") == 1


async def test_busy_continues_in_dialplan(ringing_config: Config, driver: CallDriver) -> None:
    config = with_sections(ringing_config, caller={"busy": ReasonConfig(after_action="continue")})
    async with running(config) as service:
        await publish(service)
        call = await dial(driver, "101", "vs-test-next")
        pcm = await heard(call)
        tones = detect_tones(pcm, [BODY_HZ, AFTER_HZ])
        assert tones[BODY_HZ] > 1.2, "the message played"
        assert tones[AFTER_HZ] > 0.5, "then the next priority of the dialplan ran"
        assert counter(service, "voicestatus_message_plays", reason="busy") == 1


async def test_a_partial_busy_table_keeps_the_sections_continue(
    ringing_config: Config, driver: CallDriver
) -> None:
    """``[caller.busy] fallback`` alone overrides one key: the call still continues in dialplan."""
    caller = config_from_dict(
        {"caller": {"after_action": "continue", "busy": {"fallback": "template"}}}
    ).caller
    async with running(ringing_config.replace(caller=caller)) as service:
        await publish(service)
        call = await dial(driver, "101", "vs-test-next")
        pcm = await heard(call)
        tones = detect_tones(pcm, [BODY_HZ, AFTER_HZ])
        assert tones[BODY_HZ] > 1.2, "the message played"
        assert tones[AFTER_HZ] > 0.5, "then the next priority of the dialplan ran"


async def test_continue_through_generated_dialplan(ringing_config: Config, driver: CallDriver) -> None:
    config = with_sections(ringing_config, caller={"after_action": "continue"})
    async with running(config) as service:
        await publish(service)
        call = await dial(
            driver,
            "101",
            UNAVAILABLE,
            VOICESTATUS_REASON="busy",
            VOICESTATUS_CONTINUE="vs-test-after,s,1",
        )
        pcm = await heard(call)
        tones = detect_tones(pcm, [BODY_HZ, AFTER_HZ])
        assert tones[BODY_HZ] > 1.2
        assert tones[AFTER_HZ] > 0.5


@pytest.mark.parametrize("fallback", ["template", "hangup", "continue"])
async def test_no_message_fallbacks(ringing_config: Config, driver: CallDriver, fallback: str) -> None:
    config = with_sections(ringing_config, caller={"fallback": fallback})
    async with running(config) as service:
        sessions = capture_sessions(service)
        call = await dial(driver, "101", "vs-test-next")
        session = await first_session(sessions)
        if fallback == "hangup":
            await call.wait_hangup(15)
            assert not call.up, "a hang-up fallback does not answer"
            assert session.played == []
        else:
            pcm = await heard(call)
            assert silence_ratio(pcm) < 0.8
            after = detect_tones(pcm, [AFTER_HZ])[AFTER_HZ]
            if fallback == "template":
                assert session.played == TEMPLATE
                assert after == 0
            else:
                assert session.played == []
                assert after > 0.5
        assert counter(service, "voicestatus_fallbacks", kind=fallback) == 1


async def test_expired_message_is_treated_as_none(ringing_config: Config, driver: CallDriver) -> None:
    async with running(ringing_config) as service:
        sessions = capture_sessions(service)
        await publish(service)
        past = datetime.now(UTC) - timedelta(minutes=1)
        await service.operators.update("101", expires_at=past, actor=Actor("admin", "tests"))
        call = await dial(driver, "101", UNAVAILABLE)
        session = await first_session(sessions)
        pcm = await heard(call)
        assert session.played == TEMPLATE
        assert detect_tones(pcm, [BODY_HZ])[BODY_HZ] == 0


async def test_unreachable_media_plays_the_template(ringing_config: Config, driver: CallDriver) -> None:
    from support import free_port

    config = with_sections(ringing_config, http={"public_url": f"http://127.0.0.1:{free_port()}"})
    async with running(config) as service:
        sessions = capture_sessions(service)
        await publish(service)
        call = await dial(driver, "101", UNAVAILABLE)
        session = await first_session(sessions)
        pcm = await heard(call)
        assert session.played[-3:] == TEMPLATE
        assert silence_ratio(pcm) < 0.8, "the caller is not left in silence"
        assert counter(service, "voicestatus_errors", kind="media-fetch") == 1
        assert counter(service, "voicestatus_message_plays", reason="noanswer") == 0
