"""PIN guessing on the real sandbox Asterisk: one shared count, lock-outs, and the admin's way out.

Calls come from the call driver (Local channels: no SIP endpoint, so every
call is asked for extension and PIN, as a trunk call would be). The web
login runs on the same service, so the phone and the browser are shown to
share the count.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from menu_support import ADMIN, dial_menu, leave, wait_heard
from support import wait_until
from voicestatus.app import Service
from voicestatus.flows import prompts
from voicestatus.services.audit import Actor
from voicestatus.services.pins import PIN_MAX_DIGITS
from voicestatus_dev.driver import CallDriver
from web_support import PASSWORD, login_session

pytestmark = pytest.mark.asterisk

PIN = "4321"
MENU_ENTERED = ("sound:vm-tempgreeting", "sound:vm-tempgreeting2")
LOCKED = prompts.LOGIN_LOCKED[0]


class Spy:
    """Counts the PIN verifications that really happen (the guard must prevent most)."""

    def __init__(self, service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
        self.extensions: list[str] = []
        real = service.operators.verify_pin

        async def verify_pin(extension: str, pin: str) -> bool:
            self.extensions.append(extension)
            return await real(extension, pin)

        monkeypatch.setattr(service.operators, "verify_pin", verify_pin)


async def try_pin(service: Service, driver: CallDriver, extension: str, pin: str) -> list[str]:
    """One call: type extension and PIN once, wait for the answer, hang up; what the call heard."""
    call, session = await dial_menu(service, driver, "103")
    await wait_heard(service, call, "sound:extension")
    await call.dtmf(f"{extension}#")
    await wait_until(
        lambda: prompts.ENTER_PIN in session.played or LOCKED in session.played,
        30,
        "the PIN prompt or a refusal",
    )
    if prompts.ENTER_PIN in session.played:
        await call.dtmf(f"{pin}#")
        answers = (prompts.LOGIN_INCORRECT, LOCKED, *MENU_ENTERED)
        await wait_until(lambda: any(a in session.played for a in answers), 30, "the answer to the PIN")
    await call.hangup()
    return list(session.played)


@pytest.fixture
async def web(service: Service) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An API client for the running service, with an admin token."""
    await service.accounts.create_admin("alice", PASSWORD, actor=Actor("cli", "test"))
    token = await service.accounts.create_token("alice", actor=Actor("cli", "test"))
    base = f"http://127.0.0.1:{service.config.http.port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        yield client, token


async def web_operator_login(client: httpx.AsyncClient, extension: str, pin: str) -> httpx.Response:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    return await client.post(
        "/login/operator", data={"extension": extension, "pin": pin, "csrf_token": csrf[1]}
    )


async def test_parallel_wrong_pins_lock_the_extension_for_phone_and_web_until_an_admin_clears_it(
    service: Service,
    driver: CallDriver,
    web: tuple[httpx.AsyncClient, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, token = web
    admin = {"Authorization": f"Bearer {token}"}
    await service.operators.set_pin("101", PIN, actor=ADMIN)
    await service.operators.set_pin("102", "8642", actor=ADMIN)
    spy = Spy(service, monkeypatch)

    heard = [await try_pin(service, driver, "101", "1111") for _ in range(2)]
    heard += await asyncio.gather(*(try_pin(service, driver, "101", f"{2222 + i}") for i in range(6)))
    wrong = sum(prompts.LOGIN_INCORRECT in h for h in heard)
    refused = sum(LOCKED in h for h in heard)
    assert (wrong, refused) == (5, 3), heard
    assert spy.extensions == ["101"] * 5, "a locked PIN is never verified, even by calls in flight"

    # Now even the right PIN is refused, by phone (before a PIN is asked) ...
    call, session = await dial_menu(service, driver, "103")
    await wait_heard(service, call, "sound:extension")
    await call.dtmf("101#")
    await call.wait_hangup(30)
    tail = session.played[session.played.index(prompts.ENTER_EXTENSION[-1]) + 1 :]
    assert tail == [*prompts.LOGIN_LOCKED, prompts.GOODBYE], "refused with a prompt, never silence"
    # ... and by the web operator login.
    answer = await web_operator_login(client, "101", PIN)
    assert answer.status_code == 429
    assert "PIN entry is locked" in answer.text
    assert spy.extensions == ["101"] * 5

    shown = (await client.get("/api/v1/operators/101", headers=admin)).json()
    until = datetime.fromisoformat(shown["pin_locked_until"])
    assert until > datetime.now(UTC)
    assert (await client.get("/api/v1/operators/102", headers=admin)).json()["pin_locked_until"] is None
    listed = (await client.get("/api/v1/operators", headers=admin)).json()["items"]
    assert {o["extension"]: o["pin_locked_until"] is not None for o in listed} == {"101": True, "102": False}
    locks, _ = await service.audit.list(extension="101", action="pin-locked")
    assert len(locks) == 1
    assert locks[0].actor.startswith("phone:Local/")

    # An operator cannot lift a lock, even on their own extension; an admin can.
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=30) as operator:
        csrf = await login_session(operator, {"extension": "102", "pin": "8642"}, operator=True)
        refused_op = await operator.delete("/api/v1/operators/102/pin-lock", headers={"X-CSRF-Token": csrf})
        assert refused_op.status_code == 403
    assert (await client.delete("/api/v1/operators/101/pin-lock", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/operators/101", headers=admin)).json()["pin_locked_until"] is None
    cleared, _ = await service.audit.list(extension="101", action="pin-unlocked")
    assert [e.actor.split("#")[0] for e in cleared] == ["token:alice"]

    # The right PIN works again by phone and by web.
    call, session = await dial_menu(service, driver, "103")
    await wait_heard(service, call, "sound:extension")
    await call.dtmf("101#")
    await wait_heard(service, call, prompts.ENTER_PIN)
    await call.dtmf(f"{PIN}#")
    await wait_until(lambda: any(m in session.played for m in MENU_ENTERED), 30, "101's menu")
    await leave(call)
    assert (await web_operator_login(client, "101", PIN)).status_code == 303


async def test_the_longest_pin_that_can_be_set_logs_in_by_phone(service: Service, driver: CallDriver) -> None:
    longest = "31415926535897932384"[:PIN_MAX_DIGITS]
    assert len(longest) == PIN_MAX_DIGITS == 20
    await service.operators.set_pin("101", longest, actor=ADMIN)
    call, session = await dial_menu(service, driver, "103")
    await wait_heard(service, call, "sound:extension")
    await call.dtmf("101#")
    await wait_heard(service, call, prompts.ENTER_PIN)
    await call.dtmf(f"{longest}#")
    await wait_until(
        lambda: any(m in session.played for m in MENU_ENTERED) or prompts.LOGIN_INCORRECT in session.played,
        30,
        "the answer to the PIN",
    )
    assert prompts.LOGIN_INCORRECT not in session.played, "a 20-digit PIN was cut short"
    await leave(call)
