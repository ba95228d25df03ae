"""Attacks on the web side, each reproduced over HTTP against the running service.

Login bursts and lock-outs, oversized and unauthenticated bodies, metrics
cardinality, sessions that outlive a disabled operator or a new PIN, and the
one policy for what an operator may change (API and UI alike).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import string
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from support import free_port
from voicestatus.services.audit import Actor
from web_support import PASSWORD, SPEECH_WAV, Web, login_session, start_web, web_config

ATTEMPTS = 3


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    config = web_config(tmp_path, free_port(), login_attempts=ATTEMPTS, trusted_proxies="127.0.0.1")
    async for running in start_web(config):
        await running.service.operators.set_pin("101", "1234", actor=Actor("cli", "t"))
        async with running.api() as client:
            assert (await client.put("/api/v1/operators/101/messages/1", content=SPEECH_WAV)).is_success
        yield running


async def login_token(client: httpx.AsyncClient) -> str:
    page = await client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found[1]


def count_pin_checks(web: Web) -> list[str]:
    """Every PIN the service actually verifies, in order (the service runs in this process)."""
    checked: list[str] = []
    ops = web.service.operators
    original = ops.verify_pin

    async def counting(extension: str, pin: str) -> bool:
        checked.append(pin)
        return await original(extension, pin)

    ops.verify_pin = counting  # type: ignore[method-assign]
    return checked


async def burst(web: Web, pins: list[str], address: Callable[[int], str]) -> list[httpx.Response]:
    """All of ``pins`` for operator 101 at once, each request from ``address(i)``."""
    limits = httpx.Limits(max_connections=len(pins), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=web.base, timeout=120, limits=limits) as client:
        token = await login_token(client)
        return await asyncio.gather(
            *(
                client.post(
                    "/login/operator",
                    data={"extension": "101", "pin": pin, "csrf_token": token},
                    headers={"X-Forwarded-For": address(i)},
                )
                for i, pin in enumerate(pins)
            )
        )


def wrong_pins(count: int) -> list[str]:
    return [f"{n:04d}" for n in range(5000, 5000 + count)]


async def test_a_burst_of_pin_guesses_evaluates_at_most_the_limit(web: Web) -> None:
    checked = count_pin_checks(web)
    pins = wrong_pins(200)
    pins[150] = "1234"  # the right PIN, late in the burst
    answers = await burst(web, pins, lambda _i: "203.0.113.5")
    codes = [a.status_code for a in answers]
    assert 303 not in codes, "the burst found the PIN"
    assert codes.count(401) <= ATTEMPTS
    assert codes.count(429) >= len(pins) - ATTEMPTS
    assert all(a.headers["retry-after"].isdigit() for a in answers if a.status_code == 429)
    assert len(checked) <= ATTEMPTS
    assert "1234" not in checked


async def test_a_burst_from_many_addresses_is_capped_per_account(web: Web) -> None:
    checked = count_pin_checks(web)
    ceiling = web.service.config.http.login_attempts * 10
    answers = await burst(web, wrong_pins(200), lambda i: f"198.18.{i // 250}.{i % 250 + 1}")
    codes = [a.status_code for a in answers]
    assert codes.count(401) <= ceiling
    assert codes.count(429) >= 200 - ceiling
    assert len(checked) <= ceiling


async def admin_login(client: httpx.AsyncClient, password: str, address: str) -> httpx.Response:
    token = await login_token(client)
    return await client.post(
        "/login",
        data={"username": "alice", "password": password, "csrf_token": token},
        headers={"X-Forwarded-For": address},
    )


async def test_a_stranger_cannot_lock_the_admin_out(web: Web) -> None:
    async with web.anonymous() as attacker:
        codes = [(await admin_login(attacker, f"guess-{n}", "203.0.113.66")).status_code for n in range(20)]
        assert codes == [401] * ATTEMPTS + [429] * (20 - ATTEMPTS)
        refused = await admin_login(attacker, PASSWORD, "203.0.113.66")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert (await attacker.get("/api/v1/me")).status_code == 401
    async with web.anonymous() as admin:
        answer = await admin_login(admin, PASSWORD, "198.51.100.7")
        assert answer.status_code == 303
        assert (await admin.get("/api/v1/me")).json()["name"] == "alice"


async def raw_exchange(
    web: Web, head: str, send_body: Callable[[asyncio.StreamWriter], Awaitable[None]]
) -> bytes:
    """Send a request head and part of a body over a socket; the answer the server gives meanwhile."""
    port = int(web.base.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n")
        await send_body(writer)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), 20)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def test_a_huge_unauthenticated_patch_is_refused_unread(web: Web) -> None:
    async def nothing(_writer: asyncio.StreamWriter) -> None:
        return None

    declared = await raw_exchange(
        web,
        "PATCH /api/v1/operators/101 HTTP/1.1\nHost: x\nContent-Type: application/json\n"
        f"Content-Length: {200 * 1024 * 1024}\n",
        nothing,
    )
    assert declared.startswith(b"HTTP/1.1 413"), declared[:200]
    assert json.loads(declared.split(b"\r\n\r\n", 1)[1])["error_id"] == "body-too-large"

    async def one_chunk(writer: asyncio.StreamWriter) -> None:
        writer.write(b"400\r\n" + b" " * 1024 + b"\r\n")  # and never the rest

    streamed = await raw_exchange(
        web,
        "PATCH /api/v1/operators/101 HTTP/1.1\nHost: x\nContent-Type: application/json\n"
        "Transfer-Encoding: chunked\n",
        one_chunk,
    )
    assert streamed.startswith(b"HTTP/1.1 401"), streamed[:200]


async def test_oversized_bodies_get_413_also_when_authenticated(web: Web) -> None:
    padded = '{"expires_at": null' + " " * (100 * 1024) + "}"
    async with web.api() as client:
        answer = await client.patch(
            "/api/v1/operators/101", content=padded, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 413
        assert answer.json()["error_id"] == "body-too-large"

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"expires_at": null'
            for _ in range(10):
                yield b" " * 16384
            yield b"}"

        streamed = await client.patch(
            "/api/v1/operators/101", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert streamed.json()["error_id"] == "body-too-large"
        small = await client.patch("/api/v1/operators/101", json={"expires_at": None})
        assert small.status_code == 200
    async with web.anonymous() as anonymous:
        token = await login_token(anonymous)
        login = await anonymous.post(
            "/login", data={"username": "alice", "password": "x" * (1024 * 1024), "csrf_token": token}
        )
        assert login.status_code == 413


async def test_random_methods_and_paths_do_not_grow_metrics(web: Web) -> None:
    rng = random.Random(7)
    async with web.anonymous() as client:
        for _ in range(300):
            method = "".join(rng.choices(string.ascii_uppercase, k=10))
            path = "/" + "".join(rng.choices(string.ascii_lowercase, k=12))
            await client.request(method, path)
            await client.request(method, "/api/v1/operators")
            await client.get(path)
        metrics = (await client.get("/metrics")).text
    series = [
        line for line in metrics.splitlines() if line.startswith("voicestatus_http_request_seconds_count")
    ]
    assert len(series) <= 10, series
    assert any('method="other"' in line for line in series)
    assert any('route="unmatched"' in line for line in series)
    assert len(metrics) < 50_000


@contextlib.asynccontextmanager
async def operator_client(web: Web) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client logged in as operator 101 through the login form, and its CSRF token."""
    async with web.anonymous() as client:
        yield client, await login_session(client, {"extension": "101", "pin": "1234"}, operator=True)


async def assert_logged_out(client: httpx.AsyncClient, csrf: str) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    off = await client.post("/api/v1/operators/101/off", headers={"X-CSRF-Token": csrf})
    assert off.status_code == 401
    form = await client.post("/operators/101/action", data={"action": "off", "csrf_token": csrf})
    assert form.status_code == 303
    assert form.headers["location"].startswith("/login")
    page = await client.get("/operators/101")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")


@pytest.mark.parametrize(
    "change",
    [{"enabled": False}, {"pin": "8642"}, {"pin": None}, {"enabled": False, "pin": "8642"}],
    ids=["disabled", "new-pin", "pin-cleared", "disabled-and-new-pin"],
)
async def test_sessions_end_when_the_operator_is_disabled_or_gets_a_new_pin(
    web: Web, change: dict[str, object]
) -> None:
    async with operator_client(web) as (client, csrf):
        assert (await client.get("/api/v1/me")).json()["extension"] == "101"
        async with web.api() as admin:
            assert (await admin.patch("/api/v1/operators/101", json=change)).status_code == 200
            if change.get("enabled") is False:  # enabled again: the old session must stay dead
                assert (await admin.patch("/api/v1/operators/101", json={"enabled": True})).status_code == 200
        await assert_logged_out(client, csrf)
    async with web.api() as admin:
        assert (await admin.get("/api/v1/operators/101")).json()["message_enabled"] is True


async def test_a_disabled_operator_session_is_refused_even_if_it_survived(web: Web) -> None:
    async with operator_client(web) as (client, csrf):
        # Disabled behind the service's back (another node, a database edit): checked per request.
        async with web.service.db.transaction() as session:
            from sqlalchemy import update

            from voicestatus.storage.models import Operator

            await session.execute(update(Operator).where(Operator.extension == "101").values(enabled=False))
        await assert_logged_out(client, csrf)


@pytest.mark.parametrize(
    "patch",
    [
        {"name": "Boss"},
        {"pin": None},
        {"pin": "9753"},
        {"enabled": True},
        {"message_enabled": False, "pin": None},
    ],
    ids=["rename", "clear-pin", "new-pin", "enable", "mixed"],
)
async def test_an_operator_cannot_change_admin_fields_over_the_api(
    web: Web, patch: dict[str, object]
) -> None:
    async with operator_client(web) as (client, csrf):
        answer = await client.patch("/api/v1/operators/101", json=patch, headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 403, answer.text
        body = answer.json()
        assert body["error_id"] == "forbidden"
        assert "administrator" in body["message"]
        assert (await client.get("/api/v1/me")).status_code == 200
        own = (await client.get("/api/v1/operators/101")).json()
    assert own["name"] is None
    assert own["has_pin"] is True
    assert own["message_enabled"] is True
    entries, _ = await web.service.audit.list(extension="101", actor="operator")
    assert entries == []


async def test_an_operator_may_change_their_own_messages_status_and_expiry(web: Web) -> None:
    async with operator_client(web) as (client, csrf):
        answer = await client.patch(
            "/api/v1/operators/101",
            json={"active_status": 1, "message_enabled": False, "expires_at": "2031-01-01T09:00:00+00:00"},
            headers={"X-CSRF-Token": csrf},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["message_enabled"] is False
        assert (
            await client.post("/api/v1/operators/101/on", headers={"X-CSRF-Token": csrf})
        ).status_code == 200


async def test_the_ui_applies_the_same_policy(web: Web) -> None:
    async with operator_client(web) as (client, csrf):
        page = (await client.get("/operators/101")).text
        assert 'name="pin"' not in page
        assert 'name="name"' not in page
        for crafted in (
            {"admin_fields": "1", "name": "Boss", "enabled": "1"},
            {"pin": "9753"},
            {"clear_pin": "1"},
        ):
            answer = await client.post(
                "/operators/101/action",
                data={"action": "settings", "active_status": "", "csrf_token": csrf, **crafted},
            )
            assert answer.status_code == 303
            assert "error=forbidden" in answer.headers["location"], crafted
        allowed = await client.post(
            "/operators/101/action", data={"action": "settings", "active_status": "1", "csrf_token": csrf}
        )
        assert "done=settings" in allowed.headers["location"]
        assert (await client.get("/api/v1/me")).status_code == 200
    view = await web.service.operators.get("101")
    assert view is not None
    assert view.name is None
    assert view.has_pin
    assert view.active_status == 1
    async with web.anonymous() as admin:
        admin_csrf = await login_session(admin, {"username": "alice", "password": PASSWORD})
        page = (await admin.get("/operators/101")).text
        assert 'name="pin"' in page
        renamed = await admin.post(
            "/operators/101/action",
            data={"action": "settings", "admin_fields": "1", "name": "Anna", "enabled": "1",
                  "active_status": "1", "csrf_token": admin_csrf},
        )  # fmt: skip
        assert "done=settings" in renamed.headers["location"]
    view = await web.service.operators.get("101")
    assert view is not None
    assert view.name == "Anna"
