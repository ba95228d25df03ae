"""Hostile caller-side input on the real sandbox Asterisk: caller IDs, channel variables, Stasis args, DTMF.

Everything a caller (or an upstream trunk) controls reaches the service
through Asterisk: ``CALLERID(num/name)``, ``EXTTOCALL``, ``CONNECTEDLINE(num)``,
the arguments of ``Stasis(voicestatus,...)`` and key presses. Each hostile
value is set on a real Local channel by the dialplan below (the call driver
passes it as a channel variable), and the call must end harmlessly:

- the caller hears audio (a message template or a prompt), never silence;
- no operator's message is played for a value that only resembles an operator;
- nothing in the database or the service's directory changes, and the log
  has no error or traceback;
- the phone menu never opens for a spoofed or garbled caller ID, and no
  sequence of keys logs anyone in or changes anything.

Calls run concurrently and the menu tests send many key sequences per call,
so the whole file takes well under a minute.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from caller_support import heard
from hostile_support import State, db_rows, files_under, is_database_file, report, state_changes, tally
from support import running, wait_until
from voicestatus.app import Service
from voicestatus.audio.pcm import Pcm
from voicestatus.audio.wav import encode_wav
from voicestatus.config import Config
from voicestatus.flows import prompts
from voicestatus.flows.session import CallSession
from voicestatus.services.audit import Actor
from voicestatus_dev.analysis import silence_ratio, tone
from voicestatus_dev.driver import CallDriver, DriverCall
from voicestatus_dev.sandbox import Sandbox

pytestmark = pytest.mark.asterisk

HOSTILE_DIALPLAN = """
[vs-sec-exttocall]
exten => s,1,Set(EXTTOCALL=${VS_HOSTILE})
 same => n,Goto(voicestatus-unavailable,s,1)

[vs-sec-connected]
exten => s,1,Set(CONNECTEDLINE(num,i)=${VS_HOSTILE})
 same => n,Goto(voicestatus-unavailable,s,1)

[vs-sec-arg]
; The operator and reason arguments exactly as the hostile value has them.
exten => s,1,Stasis(voicestatus,unavailable,${VS_HOSTILE})
 same => n,GotoIf($["${VOICESTATUS_FAILED}" = "1"]?voicestatus-unavailable,s,1)
 same => n,Hangup()

[vs-sec-flow]
; Any first argument: unknown flows hand the call back to be told "sorry".
exten => s,1,Stasis(voicestatus,${VS_HOSTILE})
 same => n,GotoIf($["${VOICESTATUS_FAILED}" = "1" | "${STASISSTATUS}" = "FAILED"]?failed)
 same => n,Hangup()
 same => n(failed),Answer()
 same => n,Playback(im-sorry&cannot-complete-as-dialed)
 same => n,Hangup()

[vs-sec-menu]
; The menu reached with a caller ID of the test's choosing.
exten => s,1,Set(CALLERID(num)=${VS_HOSTILE})
 same => n,Set(CALLERID(name)=${VS_NAME})
 same => n,Stasis(voicestatus,menu)
 same => n,Hangup()
"""

OPERATOR_PIN = "13571357"
# One operator per main-menu call: logins to one extension from many lines at once
# would rightly look like guessing to the PIN lock-out.
MENU_OPERATORS = [str(ext) for ext in range(103, 113)]
CONCURRENT_CALLS = 16

# Look-alikes of operator 101 (who has a live message) and 102 (no PIN): none may be taken for them.
LOOKALIKES = [
    "101 ",
    " 101",
    "101\t",
    "١٠١",
    "１０１",
    "101\u200b",
    "\u202e101",
    "101;102",
    "101,102",
    "101)",
    "(101",
    "../101",
    "101/..",
    "+101",
    "101#",
    "*101",
    "101*",
    "0x65",
    "1.01e2",
    "-101",
    "101abc",
    "${EXTEN}",
    "$[100+1]",
    "1" * 21,
    "9" * 40,
    "Local/101@x",
    "PJSIP/101",
    "<101>",
    '"101"',
    "101%00",
]
MENU_CALLER_IDS = [
    ("102 ", "Boris"),
    (" 102", "Boris"),
    ("１０２", "Boris"),
    ("١٠٢", "Boris"),
    ("102\u200b", "Boris"),
    ("102;x", "Boris"),
    ("PJSIP/102", "102"),
    ("<102>", "<102>"),
    ('"102" <102>', "x"),
    ("+102", "Boris"),
    ("0102", "Boris"),
    ("102#", "Boris"),
    ("", "102"),
    ("anonymous", "'; DROP TABLE operators; --"),
    ("200", "x" * 500),
    ("200", "\u202eBoris"),
    ("200", "${SHELL}$(id)"),
]
# Key sequences at the login prompts (extension, then PIN): none is a valid login.
LOGIN_DTMF = [
    "#",
    "*#",
    "##",
    "1" * 25 + "#",
    "101***#",
    "ABCD#",
    "0#0#",
    "102#1#",
    "101#" + "9" * 25 + "#",
    "101#ABCD#",
    "103#1357135#",
    "103#135713570#",
    "103#*13571357#",
    "#13571357#",
    "103#" + "#" * 3,
    "9" * 20 + "#" + "9" * 20 + "#",
    "D1C3#",
    "*",
    "101#1357#",
    "103#A3571357#",
]
# Keys at the main menu that must do nothing but say "invalid option" (or repeat, for 0).
MENU_DTMF = [
    "5",
    "6",
    "7",
    "8",
    "9",
    "#",
    "A",
    "B",
    "C",
    "D",
    "55",
    "#9",
    "A#B",
    "CD",
    "0",
    "09#",
    "5D",
    "7" * 3,
    "#" * 3,
    "8A9B",
]


@pytest.fixture
def hostile_dialplan(sandbox: Sandbox) -> Iterator[None]:
    sandbox.add_dialplan("security-tests", HOSTILE_DIALPLAN)
    yield
    sandbox.add_dialplan("security-tests", "; nothing\n")


@pytest.fixture
async def phone_service(service_config: Config, hostile_dialplan: None) -> AsyncIterator[Service]:
    """The service with 101 (PIN, live message), 102 (no PIN) and 103 (PIN) as operators.

    The menu waits 2 s for a key (not 10) and allows one login try per call, so a
    call with a wrong login ends within seconds.
    """
    phone = dataclasses.replace(service_config.phone, menu_timeout=2.0, menu_repeats=1, pin_tries=1)
    async with running(service_config.replace(phone=phone)) as service:
        actor = Actor("cli", "seed")
        await service.operators.set_pin("101", "24682468", actor=actor)
        audio = await service.messages.process_upload(encode_wav(tone(600, 2.0).samples, 8000))
        await service.messages.publish("101", 1, audio, actor=actor)
        await service.operators.update("102", name="Boris", actor=actor)
        await service.operators.set_pin("103", OPERATOR_PIN, actor=actor)
        yield service


def root_of(service: Service) -> Path:
    return Path(service.config.media.dir).parent


async def state(service: Service) -> State:
    """Rows and files, with the plays counted in memory written first (they are batched)."""
    await service.messages.plays.flush()
    root = root_of(service)
    return db_rows(root / "voicestatus.db"), files_under(root, skip=is_database_file)


async def changes(service: Service, before: State) -> list[str]:
    return state_changes(before, await state(service))


def capture(service: Service) -> dict[str, list[CallSession]]:
    """Every session the menu and caller-path flows run from now on, by channel id."""
    seen: dict[str, list[CallSession]] = {}
    for name in ("unavailable", "menu"):
        flow = service.router.flows[name]

        def wrapped(
            call: CallSession, flow: Callable[[CallSession], Awaitable[None]] = flow
        ) -> Awaitable[None]:
            seen.setdefault(call.id, []).append(call)
            return flow(call)

        service.router.flows[name] = wrapped
    return seen


def played(sessions: dict[str, list[CallSession]], call: DriverCall) -> list[str]:
    return [item for session in sessions.get(f"{call.id}-2", []) for item in session.played]


async def concurrently(work: list[Callable[[], Awaitable[str | None]]]) -> list[str]:
    """Run the calls ``CONCURRENT_CALLS`` at a time; the problems they report."""
    gate = asyncio.Semaphore(CONCURRENT_CALLS)

    async def one(job: Callable[[], Awaitable[str | None]]) -> str | None:
        async with gate:
            return await job()

    results = await asyncio.gather(*(one(job) for job in work))
    return [r for r in results if r]


def silent(pcm: Pcm) -> bool:
    return pcm.duration < 0.5 or silence_ratio(pcm) > 0.8


async def test_caller_path_refuses_lookalike_operators(
    phone_service: Service, driver: CallDriver, caplog: pytest.LogCaptureFixture
) -> None:
    """EXTTOCALL, CONNECTEDLINE(num) and the Stasis operator argument: the caller hears a template."""
    service = phone_service
    sessions = capture(service)
    # Control: the real operator through the same context hears 101's message.
    control = await driver.call("s", "vs-sec-exttocall", caller_id="200", variables={"VS_HOSTILE": "101"})
    heard_control = await heard(control, seconds=12)
    assert any(item.startswith("sound:http") for item in played(sessions, control)), played(sessions, control)
    assert not silent(heard_control)
    await wait_until(lambda: not service.router.sessions, 15, "the control call to leave the service")
    before = await state(service)
    variable_cases = [("vs-sec-exttocall", v) for v in LOOKALIKES[:16]]
    variable_cases += [("vs-sec-connected", v) for v in LOOKALIKES[16:]]
    arg_cases = [("vs-sec-arg", v) for v in LOOKALIKES[::3]]
    arg_cases += [
        ("vs-sec-arg", f"102,{reason}") for reason in ("BUSY", "busy\n", "x" * 300, "../busy", ",,,")
    ]

    def job(context: str, value: str) -> Callable[[], Awaitable[str | None]]:
        async def run() -> str | None:
            call = await driver.call("s", context, caller_id="200", variables={"VS_HOSTILE": value})
            try:
                pcm = await heard(call, seconds=12)
            except AssertionError as exc:
                return f"{context} {value!r:.40}: never answered ({exc})"
            finally:
                await call.hangup()
            media = played(sessions, call)
            if silent(pcm):
                return f"{context} {value!r:.40}: the caller heard silence (played {media})"
            if any(item.startswith("sound:http") for item in media):
                return f"{context} {value!r:.40}: an operator's message was played ({media})"
            if not media:
                return f"{context} {value!r:.40}: the service never took the call"
            return None

        return run

    failures = await concurrently([job(c, v) for c, v in [*variable_cases, *arg_cases]])
    await wait_until(lambda: not service.router.sessions, 15, "every call to leave the service")
    failures += await changes(service, before)
    tally("channel-variables", len(variable_cases))
    tally("stasis-args", len(arg_cases))
    report(failures, caplog)


async def test_unknown_flows_hand_the_call_back(
    phone_service: Service, driver: CallDriver, caplog: pytest.LogCaptureFixture
) -> None:
    """``Stasis(voicestatus,<anything>)``: no flow, no error, the dialplan says sorry.

    ``menu,<extension>`` claims an extension in the argument: the menu still asks
    for extension and PIN (102 has no PIN, so a trusted claim would open it).
    """
    service = phone_service
    sessions = capture(service)
    menu_claims = ["menu,102", "menu,١٠٢", "menu,102,extra", "menu,102 ", "menu,,102", "menu,PJSIP/102"]
    values = [
        *menu_claims,
        "",
        "nosuch",
        "MENU",
        "menu ",
        "unavailable ",
        "Unavailable",
        "../menu",
        "__init__",
        "__class__",
        "a" * 500,
        "١",
        "menu\ttab",
        "flows",
        "unavailable\x01",
        ",",
        "router",
    ]
    before = await state(service)

    def job(value: str) -> Callable[[], Awaitable[str | None]]:
        async def run() -> str | None:
            call = await driver.call("s", "vs-sec-flow", caller_id="200", variables={"VS_HOSTILE": value})
            try:
                pcm = await heard(call, seconds=6)
            except AssertionError as exc:
                return f"flow {value!r:.40}: never answered ({exc})"
            finally:
                await call.hangup()
            if silent(pcm):
                return f"flow {value!r:.40}: the caller heard silence"
            if MENU_MARKERS & set(played(sessions, call)):
                return f"flow {value!r:.40}: the operator menu opened: {played(sessions, call)}"
            return None

        return run

    failures = await concurrently([job(v) for v in values])
    failures += await changes(service, before)
    tally("stasis-args", len(values))
    report(failures, caplog)


KEYS = Config().phone.keys
MENU_MARKERS = {
    item
    for has in (True, False)
    for active in (True, False)
    for item in [
        *prompts.main_menu(KEYS, has_message=has, active=active),
        *prompts.state_announcement(has_message=has, active=active),
    ]
} - {
    *prompts.ENTER_EXTENSION,
    prompts.ENTER_PIN,
    prompts.LOGIN_INCORRECT,
    *prompts.LOGIN_LOCKED,
    prompts.NOT_ALLOWED,
    prompts.GOODBYE,
}


async def test_menu_never_opens_for_spoofed_caller_ids_or_bad_logins(
    phone_service: Service, driver: CallDriver, caplog: pytest.LogCaptureFixture
) -> None:
    """Look-alike and garbage caller IDs get the extension/PIN prompt; hostile key sequences log no one in."""
    service = phone_service
    sessions = capture(service)
    before = await state(service)
    count = max(len(MENU_CALLER_IDS), len(LOGIN_DTMF))
    plan = [
        (*MENU_CALLER_IDS[i % len(MENU_CALLER_IDS)], [LOGIN_DTMF[i % len(LOGIN_DTMF)]]) for i in range(count)
    ]

    def job(number: str, name: str, keys: list[str]) -> Callable[[], Awaitable[str | None]]:
        async def run() -> str | None:
            what = f"caller ID {number!r:.30} name {name!r:.30}"
            call = await driver.call("s", "vs-sec-menu", variables={"VS_HOSTILE": number, "VS_NAME": name})
            try:
                await call.wait_answered(15)
                await call.start_listening()
                await wait_until(lambda: bool(played(sessions, call)), 15, "the first prompt")
                for sequence in keys:
                    await call.dtmf(sequence, between_ms=60, duration_ms=60)
                # A wrong login (or a lock-out), then goodbye and hang-up.
                await call.wait_hangup(45)
                pcm = await call.stop_listening()
            except AssertionError as exc:
                return f"{what}: {exc} (played {played(sessions, call)[-6:]})"
            finally:
                await call.hangup()
            media = played(sessions, call)
            if media[: len(prompts.ENTER_EXTENSION)] != prompts.ENTER_EXTENSION and media[:1] != [
                prompts.LOGIN_LOCKED[0]
            ]:
                return f"{what}: not asked for extension and PIN first: {media[:6]}"
            if MENU_MARKERS & set(media):
                return f"{what}: the operator menu opened: {media}"
            if silent(pcm):
                return f"{what}: the caller heard silence"
            return None

        return run

    jobs = [job(number, name, keys) for number, name, keys in plan]
    failures = await concurrently(jobs)
    await wait_until(lambda: not service.router.sessions, 15, "every call to leave the service")
    failures += await changes(service, before)
    tally("caller-ids", len(MENU_CALLER_IDS))
    tally("menu-dtmf", len(LOGIN_DTMF))
    report(failures, caplog)


async def test_main_menu_ignores_hostile_key_sequences(
    phone_service: Service, driver: CallDriver, caplog: pytest.LogCaptureFixture
) -> None:
    """Logged in as 103..112: stray keys, letters and # only say "invalid option"; nothing changes."""
    service = phone_service
    sessions = capture(service)
    for operator in MENU_OPERATORS[1:]:  # 103 has its PIN already
        await service.operators.set_pin(operator, OPERATOR_PIN, actor=Actor("cli", "seed"))
    calls = len(MENU_OPERATORS)
    per_call = [MENU_DTMF[i::calls] for i in range(calls)]
    before = await state(service)

    def job(operator: str, keys: list[str]) -> Callable[[], Awaitable[str | None]]:
        login = f"{operator}#{OPERATOR_PIN}#"

        async def run() -> str | None:
            call = await driver.call("s", "vs-sec-menu", variables={"VS_HOSTILE": "200", "VS_NAME": "x"})
            invalid = sum(1 for seq in keys for k in seq if k != "0")
            try:
                await call.wait_answered(15)
                await wait_until(lambda: bool(played(sessions, call)), 15, "the first prompt")
                await call.dtmf(login, between_ms=60, duration_ms=60)
                await wait_until(lambda: bool(MENU_MARKERS & set(played(sessions, call))), 20, "the menu")
                for sequence in keys:
                    await call.dtmf(sequence, between_ms=60, duration_ms=60)
                await wait_until(
                    lambda: played(sessions, call).count(prompts.INVALID) >= invalid,
                    40,
                    f"{invalid} invalid-option prompts",
                )
                await call.dtmf("*")
                await call.wait_hangup(20)
            except AssertionError as exc:
                return f"keys {keys}: {exc} (played {played(sessions, call)[-8:]})"
            finally:
                await call.hangup()
            media = played(sessions, call)
            if media.count(prompts.INVALID) != invalid:
                return (
                    f"keys {keys}: {media.count(prompts.INVALID)} invalid-option prompts, expected {invalid}"
                )
            if any(item in media for item in (prompts.DELETED, prompts.SAVED, prompts.RECORD_INSTRUCTIONS)):
                return f"keys {keys}: a menu action ran: {media}"
            return None

        return run

    failures = await concurrently([job(op, keys) for op, keys in zip(MENU_OPERATORS, per_call, strict=True)])
    await wait_until(lambda: not service.router.sessions, 15, "every call to leave the service")
    failures += await changes(service, before)
    tally("menu-dtmf", len(MENU_DTMF))
    report(failures, caplog)
