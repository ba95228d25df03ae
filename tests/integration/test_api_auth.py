"""Sessions, CSRF, operators limited to their own data, and login rate limiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support import free_port
from voicestatus.services.audit import Actor
from web_support import PASSWORD, SPEECH_WAV, Web, login_session, start_web, web_config


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    config = web_config(tmp_path, free_port(), login_attempts=3, trusted_proxies="127.0.0.1")
    async for running in start_web(config):
        await running.service.operators.set_pin("101", "1234", actor=Actor("cli", "t"))
        async with running.api() as client:
            for ext in ("101", "102"):
                assert (
                    await client.put(f"/api/v1/operators/{ext}/messages/1", content=SPEECH_WAV)
                ).is_success
        yield running


async def test_admin_session_needs_csrf_for_changes(web: Web) -> None:
    async with web.anonymous() as client:
        csrf = await login_session(client, {"username": "alice", "password": PASSWORD})
        cookie = client.cookies.jar
        session = next(c for c in cookie if c.name == "vs_session")
        assert session.has_nonstandard_attr("HttpOnly")
        assert not session.secure
        assert (await client.get("/api/v1/operators")).status_code == 200
        refused = await client.post("/api/v1/operators/102/off")
        assert refused.status_code == 403
        assert refused.json()["error_id"] == "csrf-failed"
        wrong = await client.post("/api/v1/operators/102/off", headers={"X-CSRF-Token": "guess"})
        assert wrong.status_code == 403
        assert (await client.get("/api/v1/operators/102")).json()["message_enabled"] is True
        ok = await client.post("/api/v1/operators/102/off", headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200
        page = await client.post("/operators/102/action", data={"action": "on", "csrf_token": "nope"})
        assert page.status_code == 403
        assert (await client.get("/api/v1/operators/102")).json()["message_enabled"] is False
    entries, _ = await web.service.audit.list(extension="102", action="message.disable")
    assert [e.actor for e in entries] == ["admin:alice"]


async def test_cookie_is_secure_behind_a_tls_proxy(web: Web) -> None:
    async with web.anonymous() as client:
        page = await client.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        answer = await client.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": token},
            headers={"X-Forwarded-Proto": "https"},
        )
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "vs_session" in v)
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie


async def test_operator_sees_and_changes_only_their_own(web: Web) -> None:
    async with web.anonymous() as client:
        csrf = await login_session(client, {"extension": "101", "pin": "1234"}, operator=True)
        headers = {"X-CSRF-Token": csrf}
        listing = (await client.get("/api/v1/operators")).json()
        assert [i["extension"] for i in listing["items"]] == ["101"]
        assert (await client.get("/api/v1/operators/101")).status_code == 200
        for method, path in [
            ("GET", "/api/v1/operators/102"),
            ("GET", "/api/v1/operators/102/messages/1"),
            ("DELETE", "/api/v1/operators/102/messages/1"),
            ("PUT", "/api/v1/operators/102/messages/1"),
            ("POST", "/api/v1/operators/102/off"),
            ("PATCH", "/api/v1/operators/102"),
            ("GET", "/api/v1/audit?extension=102"),
        ]:
            answer = await client.request(
                method, path, headers=headers, json={} if method == "PATCH" else None
            )
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["error_id"] == "forbidden"
        assert (await client.get("/operators/102")).status_code == 403
        own = await client.put("/api/v1/operators/101/messages/1", content=SPEECH_WAV, headers=headers)
        assert own.status_code == 201
        assert (
            await client.patch("/api/v1/operators/101", json={"enabled": False}, headers=headers)
        ).status_code == 403
        audit = (await client.get("/api/v1/audit")).json()
        assert {i["extension"] for i in audit["items"]} == {"101"}
        assert (await client.get("/api/openapi.json")).status_code == 200
    assert (await web.service.messages.current("102", 1)) is not None
    entries, _ = await web.service.audit.list(extension="102")
    assert all(not e.actor.startswith("operator:") for e in entries)


async def test_operator_without_pin_or_wrong_pin_cannot_log_in(web: Web) -> None:
    async with web.anonymous() as client:
        for form in ({"extension": "102", "pin": "0000"}, {"extension": "101", "pin": "9999"}):
            page = await client.get("/login")
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            answer = await client.post("/login/operator", data={**form, "csrf_token": token})
            assert answer.status_code == 401
            assert "Wrong extension or PIN" in answer.text


async def test_login_without_form_token_is_refused(web: Web) -> None:
    async with web.anonymous() as client:
        answer = await client.post("/login", data={"username": "alice", "password": PASSWORD})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_login_rate_limit(web: Web) -> None:
    async with web.anonymous() as client:
        page = await client.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        codes = []
        for password in ["wrong-1", "wrong-2", "wrong-3", PASSWORD]:
            answer = await client.post(
                "/login", data={"username": "alice", "password": password, "csrf_token": token}
            )
            codes.append(answer.status_code)
        assert codes == [401, 401, 401, 429]
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_logout_ends_the_session(web: Web) -> None:
    async with web.anonymous() as client:
        csrf = await login_session(client, {"username": "alice", "password": PASSWORD})
        session_id = client.cookies["vs_session"]
        answer = await client.post("/logout", data={"csrf_token": csrf})
        assert answer.status_code == 303
    async with web.anonymous() as replay:
        replay.cookies.set("vs_session", session_id)
        assert (await replay.get("/api/v1/me")).status_code == 401
