"""Who gets into the phone menu: PINs, other phones, and hostile caller IDs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from menu_support import (
    ADMIN,
    audit_actions,
    dial_menu,
    leave,
    seed_message,
    stored_recordings,
    trusting_caller_id,
    wait_heard,
)
from support import wait_until
from voicestatus.app import Service
from voicestatus.config import Config
from voicestatus.flows import prompts
from voicestatus_dev.driver import CallDriver, DriverCall
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

pytestmark = pytest.mark.asterisk


@pytest.fixture
def service_config(service_config: Config) -> Config:
    """The driver's Local-channel calls stand for operators' phones by caller ID (see trusting_caller_id)."""
    return trusting_caller_id(service_config)


# Reaches the flow with any caller ID: the generated dialplan only lets
# operator caller IDs through, but the flow must not rely on that.
TEST_CONTEXT = "vs-test-callerid"
TEST_DIALPLAN = f"""
[{TEST_CONTEXT}]
exten => s,1,Set(CALLERID(num)=${{VS_TEST_CID}})
 same => n,Stasis(voicestatus,menu)
 same => n,Hangup()
"""

HOSTILE = ["../../etc/passwd", "101;rm -rf /", "$(id)", "", "1" * 200, "١٠١"]


@pytest.fixture(scope="module")
def callerid_context(sandbox: Sandbox) -> str:
    sandbox.add_dialplan("menu-callerid", TEST_DIALPLAN)
    return TEST_CONTEXT


async def log_in(service: Service, call: DriverCall, extension: str, pin: str, attempt: int = 1) -> None:
    await wait_heard(service, call, "sound:extension", count=attempt)
    await call.dtmf(f"{extension}#")
    await wait_heard(service, call, prompts.ENTER_PIN, count=attempt)
    await call.dtmf(f"{pin}#")


async def test_operator_with_pin_must_log_in_from_own_phone(service: Service, driver: CallDriver) -> None:
    await service.operators.set_pin("101", "4321", actor=ADMIN)
    call, session = await dial_menu(service, driver, "101")
    assert session.played[:2] == prompts.ENTER_EXTENSION, "a PIN is asked even from the own phone"
    await log_in(service, call, "101", "4321")
    await wait_heard(service, call, "sound:vm-tempgreeting")
    await call.dtmf("2")
    await wait_heard(service, call, "sound:vm-no", count=2)
    await leave(call)


async def test_wrong_pin_three_times_ends_the_call(service: Service, driver: CallDriver) -> None:
    await service.operators.set_pin("101", "4321", actor=ADMIN)
    before = await audit_actions(service)
    call, session = await dial_menu(service, driver, "101")
    for attempt in (1, 2, 3):
        await log_in(service, call, "101", "1111", attempt)
        await wait_heard(service, call, prompts.LOGIN_INCORRECT, count=attempt)
    await call.wait_hangup(20)
    assert session.played[-1] == prompts.GOODBYE
    assert "sound:vm-tempgreeting" not in session.played, "never reached the menu"
    assert await audit_actions(service) == before == ["operator.pin_set"]
    assert await service.messages.current("101", 1) is None


async def test_right_pin_from_another_phone_manages_that_operator(
    service: Service, driver: CallDriver
) -> None:
    await service.operators.set_pin("101", "4321", actor=ADMIN)
    await service.operators.set_pin("103", "9999", actor=ADMIN)
    await seed_message(service, "101", 500)
    call, _ = await dial_menu(service, driver, "103")
    await log_in(service, call, "101", "4321")
    await wait_heard(service, call, prompts.MESSAGE_ACTIVE)
    await call.dtmf("2")
    await wait_heard(service, call, prompts.DELETED)
    await leave(call)
    assert await service.messages.current("101", 1) is None
    assert "message.delete" in await audit_actions(service, "101")
    assert await audit_actions(service, "103") == ["operator.pin_set"]


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and "vs-driver" not in p.parts}


async def test_hostile_caller_ids_are_asked_to_log_in_and_write_nothing(
    service: Service, driver: CallDriver, callerid_context: str, sandbox_info: SandboxInfo
) -> None:
    sounds_before = _files(sandbox_info.sounds_dir)
    media_dir = Path(service.config.media.dir)

    async def hostile_call(number: str) -> None:
        call, session = await dial_menu(
            service, driver, exten="s", context=callerid_context, variables={"VS_TEST_CID": number}
        )
        assert session.channel.caller.number == number, "the hostile caller ID reached the flow"
        assert session.played[:2] == prompts.ENTER_EXTENSION, f"{number!r} was not identified"
        await call.dtmf("#")
        await call.hangup()

    await asyncio.gather(*(hostile_call(number) for number in HOSTILE))
    await wait_until(lambda: not service.router.sessions, 15, "the calls to end")
    flows_done = service.metrics.calls.labels(flow="menu", outcome="hangup")
    await wait_until(lambda: flows_done._value.get() == len(HOSTILE), 10, "every flow to finish")
    assert service.metrics.calls.labels(flow="menu", outcome="error")._value.get() == 0
    assert (await service.operators.list())[1] == 0, "no operator row"
    entries, total = await service.audit.list()
    assert total == 0, entries
    assert _files(media_dir) == set(), "no file in the media store"
    assert _files(sandbox_info.sounds_dir) == sounds_before
    assert await stored_recordings(service) == []
