"""MenuFlow logic, fast: the real session and services over a fake ARI.

The fake (``fake_ari.py``, a ``CallPort`` checked by mypy) answers playbacks
and recordings with the events Asterisk would send, so the flow runs exactly
as on a call; the same paths are proven on the real sandbox in
tests/integration/test_menu*.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from support import wait_until
from unit.fake_ari import FakeAri, press
from voicestatus.ari.models import CallerId, Channel
from voicestatus.audio.process import ProcessingSettings
from voicestatus.audio.wav import encode_wav
from voicestatus.config import Config, Status
from voicestatus.flows import prompts
from voicestatus.flows.menu import MenuFlow, channel_endpoint
from voicestatus.flows.session import CallSession
from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.messages import MessageService
from voicestatus.services.operators import OperatorService
from voicestatus.services.pin_guard import PinGuard
from voicestatus.storage.media import MediaStore
from voicestatus.web.media import media_url
from voicestatus_dev.analysis import tone
from voicestatus_dev.testing import fresh_database, url_for_tests

ADMIN = Actor("admin", "test")


@dataclasses.dataclass
class Menu:
    flow: MenuFlow
    operators: OperatorService
    messages: MessageService
    audit: AuditService

    async def call(
        self, caller: str = "101", channel_name: str = "PJSIP/101-00000001"
    ) -> tuple[FakeAri, CallSession, asyncio.Task[None]]:
        ari = FakeAri()
        channel = Channel(id="c1", name=channel_name, caller=CallerId(number=caller))
        session = ari.attach(CallSession(ari, channel, ["menu"]))
        return ari, session, asyncio.create_task(self.flow(session))


async def make_menu(config: Config, tmp_path: Path) -> AsyncIterator[Menu]:
    db = await fresh_database(url_for_tests(tmp_path))
    audit = AuditService(db)
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    operators = OperatorService(db, is_allowed=lambda e: len(e) == 3, audit=audit, pin_hasher=cheap)
    messages = MessageService(
        db,
        operators,
        audit=audit,
        media=MediaStore(tmp_path / "media"),
        processing=ProcessingSettings.from_config(config),
        max_upload_seconds=60,
    )
    guard = PinGuard.from_config(db, audit, config, is_allowed=operators.allowed)
    to_asterisk = functools.partial(media_url, base=config.http.public_url)
    flow = MenuFlow(config, operators, messages, guard, media_url=to_asterisk)
    yield Menu(flow, operators, messages, audit)
    await db.close()


@pytest.fixture
async def menu(tmp_path: Path) -> AsyncIterator[Menu]:
    phone = dataclasses.replace(Config().phone, menu_timeout=0.5, menu_repeats=1)
    async for m in make_menu(Config().replace(phone=phone), tmp_path):
        yield m


TONE_WAV = encode_wav(tone(700, 2.0).samples, 8000)


async def test_keys_pressed_during_record_instructions_do_not_reach_review(menu: Menu) -> None:
    ari, session, task = await menu.call()
    ari.hold.add(prompts.RECORD_INSTRUCTIONS)
    await wait_until(lambda: session.activity == "waiting-for-key", what="the main menu")
    press(session, "1")
    await wait_until(lambda: prompts.RECORD_INSTRUCTIONS in ari.held, what="the instructions")
    press(session, "3*")
    ari.release(prompts.RECORD_INSTRUCTIONS)
    await wait_until(lambda: session.activity == "recording", what="the recording")
    ari.late_digits = "#"  # the key that ended the recording, reported late
    ari.finish_recording(TONE_WAV)
    await wait_until(lambda: "sound:vm-review" in session.played, what="the review menu")
    await wait_until(lambda: session.activity == "waiting-for-key", what="a review choice")
    press(session, "1")
    await wait_until(lambda: prompts.SAVED in session.played, what="saved")
    press(session, "*")
    await asyncio.wait_for(task, 10)
    assert prompts.INVALID not in session.played
    assert session.played.count(prompts.RECORD_INSTRUCTIONS) == 1, "no re-record from an early 3"
    assert await menu.messages.playable("101") is not None
    assert ari.stored == {}, "the recording was deleted from Asterisk"


async def test_disabled_operator_is_refused(menu: Menu) -> None:
    await menu.operators.update("101", enabled=False, actor=ADMIN)
    ari, session, task = await menu.call()
    await asyncio.wait_for(task, 10)
    assert session.played == [prompts.NOT_ALLOWED, prompts.GOODBYE]
    assert ari.hung_up


@pytest.fixture
async def callerid_menu(tmp_path: Path) -> AsyncIterator[Menu]:
    """A menu configured to trust caller ID, so hostile caller IDs really are looked at."""
    phone = dataclasses.replace(Config().phone, menu_timeout=0.5, menu_repeats=1, identify="callerid")
    async for m in make_menu(Config().replace(phone=phone), tmp_path):
        yield m


@pytest.mark.parametrize("caller", ["../../etc/passwd", "101;rm -rf /", "$(id)", "", "1" * 200, "١٠١"])
async def test_hostile_caller_id_must_log_in(callerid_menu: Menu, caller: str) -> None:
    menu = callerid_menu
    ari, session, task = await menu.call(caller)
    await wait_until(lambda: session.activity == "waiting-for-key", what="the extension prompt")
    assert session.played[:2] == prompts.ENTER_EXTENSION
    ari.hold.add(prompts.ENTER_PIN)
    press(session, "#")
    await wait_until(lambda: prompts.ENTER_PIN in ari.held, what="the PIN prompt")
    await ari.hangup("c1")
    await asyncio.gather(task, return_exceptions=True)
    assert (await menu.operators.list())[1] == 0
    assert (await menu.audit.list())[1] == 0


async def test_invalid_key_then_menu_again(menu: Menu) -> None:
    _, session, task = await menu.call()
    await wait_until(lambda: session.activity == "waiting-for-key", what="the main menu")
    press(session, "7")
    await wait_until(lambda: session.played.count("sound:vm-tempgreeting") == 2, what="the menu again")
    press(session, "*")
    await asyncio.wait_for(task, 10)
    index = session.played.index(prompts.INVALID)
    assert session.played[index + 1] == "sound:vm-tempgreeting"


async def test_review_silence_leaves_without_saving(menu: Menu) -> None:
    ari, session, task = await menu.call()
    await wait_until(lambda: session.activity == "waiting-for-key", what="the main menu")
    press(session, "1")
    await wait_until(lambda: session.activity == "recording", what="the recording")
    ari.finish_recording(TONE_WAV)
    await asyncio.wait_for(task, 10)
    assert session.played.count("sound:vm-review") == 2
    assert session.played[-1] == prompts.GOODBYE
    assert await menu.messages.current("101", 1) is None


@pytest.fixture
async def statuses_menu(tmp_path: Path) -> AsyncIterator[Menu]:
    statuses = (Status(1, "away", {"en": "Away"}), Status(2, "lunch", {"en": "Lunch"}))
    async for m in make_menu(Config().replace(statuses=statuses), tmp_path):
        yield m


async def test_several_statuses_ask_which_one(statuses_menu: Menu) -> None:
    menu = statuses_menu
    ari, session, task = await menu.call()
    await wait_until(lambda: session.activity == "waiting-for-key", what="the main menu")
    press(session, "1")
    await wait_until(lambda: "sound:digits/2" in session.played, what="the status choice")
    press(session, "2")
    await wait_until(lambda: session.activity == "recording", what="the recording")
    ari.finish_recording(TONE_WAV)
    await wait_until(lambda: session.activity == "waiting-for-key", what="the review menu")
    press(session, "1")
    await wait_until(lambda: prompts.SAVED in session.played, what="saved")
    press(session, "*")
    await asyncio.wait_for(task, 10)
    assert prompts.status_choice("12") == session.played[5:9]
    assert await menu.messages.current("101", 1) is None
    assert await menu.messages.current("101", 2) is not None


# -- who is on the phone, and PIN lock-outs (tests/e2e/test_menu_identity.py and
# tests/integration/test_menu_pin_lock.py prove the same on the sandbox) ---------------


@pytest.mark.parametrize(
    ("name", "endpoint"),
    [
        ("PJSIP/101-0000002a", "101"),
        ("PJSIP/trunk-a-0000002a", "trunk-a"),
        ("SIP/205-00000001", "205"),
        ("Local/*600@voicestatus-menu-0000002a;2", None),
        ("PJSIP/101", None),
        ("PJSIP/101-0000002a;2", None),
        ("", None),
    ],
)
def test_the_endpoint_comes_from_the_channel_name_only(name: str, endpoint: str | None) -> None:
    assert channel_endpoint(name) == endpoint


@pytest.mark.parametrize(
    "channel_name", ["PJSIP/desk-7-00000001", "Local/s@ctx-00000001;2", "PJSIP/trunk-00000001"]
)
async def test_a_caller_id_alone_does_not_open_a_pinless_operators_menu(
    menu: Menu, channel_name: str
) -> None:
    ari, session, task = await menu.call("101", channel_name)
    await wait_until(lambda: session.activity == "waiting-for-key", what="the extension prompt")
    assert session.played[:2] == prompts.ENTER_EXTENSION
    await ari.hangup("c1")
    await asyncio.gather(task, return_exceptions=True)


async def test_trusting_caller_id_is_a_choice_of_the_configuration(callerid_menu: Menu) -> None:
    _, session, task = await callerid_menu.call("101", "Local/s@ctx-00000001;2")
    await wait_until(lambda: session.activity == "waiting-for-key", what="the main menu")
    assert session.played[0] == prompts.NO_MESSAGE[0]
    press(session, "*")
    await asyncio.wait_for(task, 10)


async def test_a_locked_extension_is_refused_before_the_pin_is_asked(menu: Menu) -> None:
    await menu.operators.set_pin("101", "4321", actor=ADMIN)
    await menu.operators.set_pin("103", "8642", actor=ADMIN)  # so 103's phone is asked who it is
    for _ in range(5):
        await menu.flow.guard.attempt("101", _wrong, source=None, actor=ADMIN)
    _, session, task = await menu.call("103", "PJSIP/103-00000001")
    await wait_until(lambda: session.activity == "waiting-for-key", what="the extension prompt")
    press(session, "101#")
    await asyncio.wait_for(task, 10)
    assert session.played == [*prompts.ENTER_EXTENSION, *prompts.LOGIN_LOCKED, prompts.GOODBYE]


async def test_a_locked_phone_is_refused_at_once(menu: Menu) -> None:
    await menu.operators.set_pin("103", "4321", actor=ADMIN)
    for extension in ("101", "102", "104", "105", "106"):
        await menu.flow.guard.attempt(extension, _wrong, source="phone:103", actor=ADMIN)
    _, session, task = await menu.call("103", "PJSIP/103-00000001")
    await asyncio.wait_for(task, 10)
    assert session.played == [*prompts.LOGIN_LOCKED, prompts.GOODBYE]


async def _wrong() -> bool:
    return False
