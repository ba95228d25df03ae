"""The PIN lock-out seen from the web and the command line (no Asterisk needed).

Wrong PINs at the web operator login count in the same database count as
the phone's (tests/integration/test_menu_pin_lock.py shows the phone side);
here the operator page shows the lock, an admin lifts it with the page's
button (a CSRF-checked form like every page action) or with
``voicestatus operators unlock``, and an operator cannot.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from support import free_port
from voicestatus.cli import main
from voicestatus.services.audit import Actor
from web_support import PASSWORD, Web, login_session, start_web, web_config

PIN = "1234"
ATTACKER = "192.0.2.7"


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    config = web_config(tmp_path, free_port(), login_attempts=50, trusted_proxies="127.0.0.1")
    async for running in start_web(config):
        await running.service.operators.set_pin("101", PIN, actor=Actor("cli", "t"))
        await running.service.operators.set_pin("102", "8642", actor=Actor("cli", "t"))
        yield running


async def operator_login(client: httpx.AsyncClient, extension: str, pin: str) -> httpx.Response:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    return await client.post(
        "/login/operator", data={"extension": extension, "pin": pin, "csrf_token": csrf[1]}
    )


async def lock_101(web: Web) -> None:
    """Five wrong PINs for 101 from one address (192.0.2.7, through the trusted proxy)."""
    async with web.anonymous() as client:
        client.headers["X-Forwarded-For"] = ATTACKER
        for guess in range(5):
            assert (await operator_login(client, "101", f"{9000 + guess}")).status_code == 401
        assert (await operator_login(client, "101", PIN)).status_code == 429
        # The address itself is locked too: it cannot go on with other extensions.
        assert (await operator_login(client, "102", "8642")).status_code == 429


async def test_wrong_web_pins_lock_and_the_admin_unlocks_on_the_operator_page(web: Web) -> None:
    await lock_101(web)
    assert await web.service.pin_guard.locked_until("101") is not None

    async with web.anonymous() as operator:
        own = await login_session(operator, {"extension": "102", "pin": "8642"}, operator=True)
        page = await operator.get("/operators/102")
        assert 'data-testid="pin-locked-until"' not in page.text
        tried = await operator.post("/operators/101/action", data={"action": "unlock_pin", "csrf_token": own})
        assert tried.status_code == 403
        tried = await operator.post("/operators/102/action", data={"action": "unlock_pin", "csrf_token": own})
        assert tried.headers["location"].endswith("error=forbidden")
    assert await web.service.pin_guard.locked_until("101") is not None

    async with web.anonymous() as admin:
        csrf = await login_session(admin, {"username": "alice", "password": PASSWORD})
        page = await admin.get("/operators/101")
        assert "PIN locked until" in page.text
        assert 'data-testid="pin-locked-until"' in page.text
        assert 'data-testid="unlock-pin"' in page.text
        forged = await admin.post("/operators/101/action", data={"action": "unlock_pin", "csrf_token": "x"})
        assert forged.status_code == 403
        assert await web.service.pin_guard.locked_until("101") is not None
        done = await admin.post("/operators/101/action", data={"action": "unlock_pin", "csrf_token": csrf})
        assert done.status_code == 303
        assert done.headers["location"] == "/operators/101?done=unlock_pin"
        page = await admin.get(done.headers["location"])
        assert "PIN lock cleared." in page.text
        assert 'data-testid="pin-locked-until"' not in page.text
    entries, _ = await web.service.audit.list(extension="101")
    assert [e.action for e in entries][:2] == ["pin-unlocked", "pin-locked"]
    assert entries[0].actor == "admin:alice"
    async with web.anonymous() as client:
        assert (await operator_login(client, "101", PIN)).status_code == 303


async def unlock_cli(extension: str, config: Path) -> Result:
    """``voicestatus operators unlock`` (it runs its own event loop, so off this one)."""
    args = ["operators", "unlock", extension, "--config", str(config)]
    return await asyncio.to_thread(CliRunner().invoke, main, args)


async def test_operators_unlock_on_the_command_line(web: Web, tmp_path: Path) -> None:
    await lock_101(web)
    config = tmp_path / "cli.toml"
    config.write_text(
        f'[database]\nurl = "{web.service.config.database.url}"\n[media]\ndir = "{tmp_path / "media"}"\n'
    )
    result = await unlock_cli("101", config)
    assert result.exit_code == 0, result.output
    assert "PIN lock cleared" in result.output
    assert await web.service.pin_guard.locked_until("101") is None
    again = await unlock_cli("101", config)
    assert again.exit_code == 0
    assert "not locked" in again.output
    refused = await unlock_cli("../1", config)
    assert refused.exit_code != 0
    unlocked, _ = await web.service.audit.list(extension="101", action="pin-unlocked")
    assert [e.actor.split(":")[0] for e in unlocked] == ["cli"]
