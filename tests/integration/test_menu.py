"""The operator's phone menu on the real sandbox Asterisk, driven like a phone."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import wave
from collections.abc import AsyncIterator

import pytest

from menu_support import (
    ADMIN,
    audit_actions,
    dial_menu,
    heard_tone,
    leave,
    loudness,
    poll,
    record_tone,
    seed_message,
    speak,
    start_listening_to_message,
    stored_recordings,
    trusting_caller_id,
    wait_activity_of,
    wait_heard,
)
from support import running, wait_until
from voicestatus.app import Service
from voicestatus.config import Config, Status
from voicestatus.flows import prompts
from voicestatus_dev.analysis import detect_tones, silence, tone
from voicestatus_dev.driver import CallDriver

pytestmark = pytest.mark.asterisk


@pytest.fixture
def service_config(service_config: Config) -> Config:
    """The driver's Local-channel calls stand for operators' phones by caller ID (see trusting_caller_id)."""
    return trusting_caller_id(service_config)


@pytest.fixture
async def quick_service(service_config: Config) -> AsyncIterator[Service]:
    """The service with a short menu timeout and one re-prompt, for the timeout paths."""
    phone = dataclasses.replace(service_config.phone, menu_timeout=1.5, menu_repeats=1)
    async with running(service_config.replace(phone=phone)) as svc:
        yield svc


async def test_record_and_accept(service: Service, driver: CallDriver) -> None:
    call, session = await dial_menu(service, driver)
    await record_tone(service, call, session, 600)
    await call.dtmf("1")
    await wait_heard(service, call, prompts.SAVED)
    message = await service.messages.playable("101")
    assert message is not None, "the accepted message is live"
    stored = service.media.path(message.sha256, "wav").read_bytes()
    assert heard_tone(stored, 600) > 1.5
    assert abs(loudness(stored) - service.config.media.target_lufs) < 1.5
    with wave.open(io.BytesIO(service.media.path(message.sha256, "wav16").read_bytes())) as w16:
        assert w16.getframerate() == 16000
    await leave(call)
    assert "sound:vm-press" not in session.played, "one status: no status question"
    entries, _ = await service.audit.list(extension="101")
    assert [e.action for e in entries] == ["message.accept"]
    assert entries[0].actor.startswith("phone:Local/")
    assert await stored_recordings(service) == []


async def test_hang_up_before_accept_keeps_the_old_message(service: Service, driver: CallDriver) -> None:
    old = await seed_message(service, "101", 500)
    # Hang up in review.
    call, session = await dial_menu(service, driver)
    await record_tone(service, call, session, 700)
    await call.hangup()
    # Hang up while recording.
    call, session = await dial_menu(service, driver)
    await call.dtmf("1")
    await wait_activity_of(service, call, "recording")
    await call.say(tone(800, 1.0))
    await call.hangup()
    await wait_until(lambda: not service.router.sessions, 10, "both calls to end")
    await poll(lambda: _no_recordings(service), "the recordings to be deleted from Asterisk", timeout=35)
    now = await service.messages.playable("101")
    assert now is not None
    assert now.id == old.id
    assert now.sha256 == old.sha256
    assert await audit_actions(service) == ["message.accept"], "only the seeded accept"


async def _no_recordings(service: Service) -> bool:
    return await stored_recordings(service) == []


async def test_hang_up_right_after_accept_keeps_the_new_message(service: Service, driver: CallDriver) -> None:
    await seed_message(service, "101", 500)
    call, session = await dial_menu(service, driver)
    await record_tone(service, call, session, 900)
    await call.dtmf("1")
    await wait_heard(service, call, prompts.SAVED)
    await call.hangup()
    await wait_until(lambda: not service.router.sessions, 10, "the call to end")
    message = await service.messages.playable("101")
    assert message is not None
    assert heard_tone(service.media.path(message.sha256, "wav").read_bytes(), 900) > 1.5
    assert len(await service.messages.history("101", 1)) == 1


async def test_rerecord_then_accept_keeps_the_second_take(service: Service, driver: CallDriver) -> None:
    call, session = await dial_menu(service, driver)
    await record_tone(service, call, session, 600)
    await call.dtmf("3")
    await speak(service, call, session, 900)
    await wait_heard(service, call, "sound:vm-review", count=2)
    await call.dtmf("1")
    await wait_heard(service, call, prompts.SAVED)
    await leave(call)
    message = await service.messages.playable("101")
    assert message is not None
    assert heard_tone(service.media.path(message.sha256, "wav").read_bytes(), 900) > 1.5
    assert await audit_actions(service) == ["message.accept"]


async def test_listen_in_review_plays_the_processed_message(service: Service, driver: CallDriver) -> None:
    call, session = await dial_menu(service, driver)
    await record_tone(service, call, session, 700)
    await call.dtmf("2")
    await start_listening_to_message(call, session)
    await wait_heard(service, call, "sound:vm-review", count=2)
    heard = await call.stop_listening()
    assert detect_tones(heard, [700])[700] > 1.0, "the caller heard the recording played back"
    assert any(item.startswith("sound:http://") for item in session.played)
    await call.dtmf("1")
    await wait_heard(service, call, prompts.SAVED)
    await leave(call)
    assert await service.messages.playable("101") is not None


async def test_silent_recording_is_refused(service: Service, driver: CallDriver) -> None:
    call, _session = await dial_menu(service, driver)
    await call.dtmf("1")
    await wait_activity_of(service, call, "recording")
    await call.say(silence(2.0))
    await call.dtmf("#")
    await wait_heard(service, call, prompts.TOO_SHORT)
    # Straight away "#": nothing recorded at all.
    await call.dtmf("1")
    await wait_activity_of(service, call, "recording")
    await call.dtmf("#")
    await wait_heard(service, call, prompts.TOO_SHORT, count=2)
    await leave(call)
    assert await service.messages.current("101", 1) is None
    assert await audit_actions(service) == []
    assert await stored_recordings(service) == []
    assert service.metrics.calls.labels(flow="menu", outcome="error")._value.get() == 0


async def test_review_timeout_leaves_without_saving(quick_service: Service, driver: CallDriver) -> None:
    service = quick_service
    call, session = await dial_menu(service, driver)
    await record_tone(service, call, session, 600)
    await call.wait_hangup(30)
    assert session.played.count("sound:vm-review") == 2, "asked again once, then left"
    assert session.played[-1] == prompts.GOODBYE
    assert await service.messages.current("101", 1) is None


# -- main menu ------------------------------------------------------------------------


async def test_listen_to_the_live_message(service: Service, driver: CallDriver) -> None:
    await seed_message(service, "101", 800)
    call, session = await dial_menu(service, driver)
    assert session.played[0] == prompts.MESSAGE_ACTIVE
    await call.dtmf("3")
    await start_listening_to_message(call, session)
    await wait_heard(service, call, "sound:vm-star-cancel", count=2)
    heard = await call.stop_listening()
    assert detect_tones(heard, [800])[800] > 1.0
    await leave(call)


async def test_no_message_and_invalid_keys(service: Service, driver: CallDriver) -> None:
    call, session = await dial_menu(service, driver)
    assert session.played[:3] == prompts.NO_MESSAGE, "on entry: no message"
    for count, digit in enumerate("234", start=2):
        await call.dtmf(digit)
        await wait_heard(service, call, "sound:vm-no", count=count)
        await wait_heard(service, call, "sound:vm-tempgreeting", count=count)
    await call.dtmf("9")
    await wait_heard(service, call, prompts.INVALID)
    await wait_heard(service, call, "sound:vm-tempgreeting", count=5)
    await leave(call)
    assert await audit_actions(service) == []
    assert (await service.operators.list())[1] == 0, "nothing written for a look around"


async def test_delete(service: Service, driver: CallDriver) -> None:
    old = await seed_message(service, "101", 500)
    call, _session = await dial_menu(service, driver)
    await call.dtmf("2")
    await wait_heard(service, call, prompts.DELETED)
    await leave(call)
    assert await service.messages.playable("101") is None
    assert await service.messages.current("101", 1) is None
    history = await service.messages.history("101", 1)
    assert [m.id for m in history] == [old.id]
    assert history[0].deleted_at is not None
    entries, _ = await service.audit.list(extension="101")
    delete = [e for e in entries if e.action == "message.delete"]
    assert len(delete) == 1
    assert delete[0].actor.startswith("phone:Local/")


async def test_switch_off_and_on(service: Service, driver: CallDriver) -> None:
    old = await seed_message(service, "101", 500)
    call, _session = await dial_menu(service, driver)
    await call.dtmf("4")
    await poll(lambda: _playable_is(service, None), "the message to be switched off")
    await wait_heard(service, call, "sound:activated")
    await call.dtmf("4")
    await poll(lambda: _playable_is(service, old.id), "the message to be switched on")
    await wait_heard(service, call, prompts.MESSAGE_ACTIVE, count=2)
    await leave(call)
    current = await service.messages.current("101", 1)
    assert current is not None
    assert current.id == old.id, "switching never deletes"
    assert await audit_actions(service) == ["message.accept", "message.disable", "message.enable"]


async def _playable_is(service: Service, message_id: int | None) -> bool:
    message = await service.messages.playable("101")
    return (message.id if message else None) == message_id


async def test_repeat_and_leave(service: Service, driver: CallDriver) -> None:
    call, session = await dial_menu(service, driver)
    await call.dtmf("0")
    await wait_heard(service, call, "sound:vm-youhave", count=2)
    await leave(call)
    assert session.played[-1] == prompts.GOODBYE


async def test_menu_timeout_reprompts_then_leaves(quick_service: Service, driver: CallDriver) -> None:
    call, session = await dial_menu(quick_service, driver)
    await call.wait_hangup(30)
    assert session.played.count("sound:vm-tempgreeting") == 2, "asked again once, then left"
    assert session.played[-1] == prompts.GOODBYE
    ok = quick_service.metrics.calls.labels(flow="menu", outcome="ok")
    await wait_until(lambda: ok._value.get() == 1, 10, "the call to be counted as ok")


async def test_disabled_operator_is_refused(service: Service, driver: CallDriver) -> None:
    await service.operators.update("101", enabled=False, actor=ADMIN)
    call, session = await dial_menu(service, driver)
    await call.wait_hangup(15)
    assert session.played == [prompts.NOT_ALLOWED, prompts.GOODBYE]
    assert await audit_actions(service) == ["operator.update"]


# -- concurrency and statuses ------------------------------------------------------------


async def test_two_calls_for_one_operator_last_accept_wins(service: Service, driver: CallDriver) -> None:
    first, first_session = await dial_menu(service, driver)
    second, second_session = await dial_menu(service, driver)
    await first.dtmf("1")
    await second.dtmf("1")
    await wait_activity_of(service, first, "recording")
    await wait_activity_of(service, second, "recording")
    await asyncio.gather(first.say(tone(600, 2.0)), second.say(tone(1000, 2.0)))
    await first.dtmf("#")
    await second.dtmf("#")
    await wait_heard(service, first, "sound:vm-review")
    await wait_heard(service, second, "sound:vm-review")
    await first.dtmf("1")
    await wait_heard(service, first, prompts.SAVED)
    await second.dtmf("1")
    await wait_heard(service, second, prompts.SAVED)
    await leave(first)
    await leave(second)
    live = await service.messages.playable("101")
    assert live is not None
    assert heard_tone(service.media.path(live.sha256, "wav").read_bytes(), 1000) > 1.5
    history = await service.messages.history("101", 1)
    assert len(history) == 1
    assert heard_tone(service.media.path(history[0].sha256, "wav").read_bytes(), 600) > 1.5
    entries, _ = await service.audit.list(extension="101")
    assert [e.action for e in entries] == ["message.accept", "message.accept"]
    assert {e.actor for e in entries} == {
        f"phone:{first_session.channel.name}",
        f"phone:{second_session.channel.name}",
    }


@pytest.fixture
async def statuses_service(service_config: Config) -> AsyncIterator[Service]:
    statuses = (
        Status(1, "away", {"en": "Away"}),
        Status(2, "lunch", {"en": "Lunch"}),
        Status(3, "meeting", {"en": "Meeting"}),
    )
    async with running(service_config.replace(statuses=statuses)) as svc:
        yield svc


async def test_several_statuses_choose_before_recording(
    statuses_service: Service, driver: CallDriver
) -> None:
    service = statuses_service
    call, session = await dial_menu(service, driver)
    await call.dtmf("1")
    await wait_heard(service, call, "sound:digits/3")
    await call.dtmf("2")
    await speak(service, call, session, 700)
    await wait_heard(service, call, "sound:vm-review")
    await call.dtmf("1")
    await wait_heard(service, call, prompts.SAVED)
    await leave(call)
    assert session.played[session.played.index("sound:vm-press") :][:6] == prompts.status_choice("123")
    operator = await service.operators.get("101")
    assert operator is not None
    assert operator.active_status == 2
    assert await service.messages.current("101", 1) is None
    lunch = await service.messages.current("101", 2)
    live = await service.messages.playable("101")
    assert lunch is not None
    assert live is not None
    assert live.id == lunch.id
