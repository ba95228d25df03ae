"""The JSON API on the real web server and database: operators, messages, audit, auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support import free_port
from voicestatus.services.audit import Actor
from web_support import SPEECH_WAV, Web, encode, speech, start_web, web_config

ENDPOINTS = [
    ("GET", "/api/v1/operators"),
    ("GET", "/api/v1/operators/101"),
    ("PATCH", "/api/v1/operators/101"),
    ("POST", "/api/v1/operators/101/on"),
    ("POST", "/api/v1/operators/101/off"),
    ("PUT", "/api/v1/operators/101/messages/1"),
    ("GET", "/api/v1/operators/101/messages/1"),
    ("DELETE", "/api/v1/operators/101/messages/1"),
    ("POST", "/api/v1/operators/101/messages/1/restore"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/health"),
    ("GET", "/api/openapi.json"),
]


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    async for running in start_web(web_config(tmp_path, free_port())):
        yield running


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_every_endpoint_needs_auth(web: Web, method: str, path: str) -> None:
    async with web.anonymous() as client:
        answer = await client.request(method, path, json={} if method == "PATCH" else None)
        assert answer.status_code == 401
        assert answer.json()["error_id"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"
    async with web.api("vst_not-a-real-token") as client:
        assert (await client.request(method, path)).status_code == 401


async def test_open_endpoints(web: Web) -> None:
    async with web.api() as client:
        upload = await client.put("/api/v1/operators/101/messages/1", content=SPEECH_WAV)
    sha = upload.json()["sha256"]
    async with web.anonymous() as client:
        assert (await client.get("/healthz")).status_code == 503  # ARI is down in these tests
        assert "voicestatus_http_request_seconds" in (await client.get("/metrics")).text
        media = await client.get(f"/media/{sha}.wav")
        assert media.status_code == 200
        assert media.content[:4] == b"RIFF"
        assert (await client.get("/", follow_redirects=False)).headers["location"].startswith("/login")
        assert (await client.get("/api/docs", follow_redirects=False)).status_code == 303


async def test_upload_every_format_then_fetch_delete_restore(web: Web) -> None:
    pcm = speech()
    files = {
        "wav": ("audio/wav", SPEECH_WAV),
        "mp3": ("audio/mpeg", encode(pcm, "mp3", "libmp3lame", 16000)),
        "ogg": ("audio/ogg", encode(pcm, "ogg", "libopus", 48000)),
        "webm": ("audio/webm", encode(pcm, "webm", "libopus", 48000)),
        "m4a": ("audio/mp4", encode(pcm, "ipod", "aac", 16000)),
    }
    async with web.api() as client:
        for name, (ctype, data) in files.items():
            answer = await client.put(
                "/api/v1/operators/101/messages/away", files={"file": (f"msg.{name}", data, ctype)}
            )
            assert answer.status_code == 201, (name, answer.text)
            body = answer.json()
            assert body["status"] == 1
            assert 2.0 < body["duration"] < 4.0, name
            assert abs(body["loudness_lufs"] + 20) < 1.5, name
        raw = await client.put("/api/v1/operators/101/messages/1", content=SPEECH_WAV)
        assert raw.status_code == 201
        audio = await client.get("/api/v1/operators/101/messages/1")
        assert audio.status_code == 200
        assert audio.headers["content-type"] == "audio/wav"
        assert audio.content == web.service.media.path(raw.json()["sha256"], "wav").read_bytes()
        wide = await client.get("/api/v1/operators/101/messages/away", params={"format": "wav16"})
        assert wide.content == web.service.media.path(raw.json()["sha256"], "wav16").read_bytes()

        assert (await client.delete("/api/v1/operators/101/messages/1")).status_code == 204
        assert (await client.get("/api/v1/operators/101/messages/1")).json()["error_id"] == "no-message"
        assert (await client.delete("/api/v1/operators/101/messages/1")).status_code == 404
        restored = await client.post("/api/v1/operators/101/messages/1/restore")
        assert restored.status_code == 200
        assert restored.json()["sha256"] == raw.json()["sha256"]
        op = (await client.get("/api/v1/operators/101")).json()
        assert op["playing"] is True
        assert op["active_status_key"] == "away"
    playable = await web.service.messages.playable("101")
    assert playable is not None
    assert playable.sha256 == raw.json()["sha256"]
    entries, _ = await web.service.audit.list(extension="101")
    assert {e.action for e in entries} >= {"message.accept", "message.delete", "message.restore"}
    assert all(e.actor == "token:alice#1" for e in entries)


async def test_unknown_operator_status_and_bad_paths(web: Web) -> None:
    async with web.api() as client:
        missing = await client.get("/api/v1/operators/201")
        assert missing.status_code == 404
        assert missing.json()["error_id"] == "unknown-operator"
        status = await client.put("/api/v1/operators/101/messages/lunch", content=SPEECH_WAV)
        assert status.status_code == 404
        assert status.json()["error_id"] == "unknown-status"
        bad = await client.get("/api/v1/operators/1x1")
        assert bad.status_code == 400
        assert bad.json()["error_id"] == "invalid-input"
        assert set(bad.json()) == {"error_id", "message", "details"}
    assert await web.service.operators.list() == ([], 0)


async def test_patch_switch_and_list_filters(web: Web) -> None:
    expires = datetime.now(UTC) + timedelta(days=2)
    async with web.api() as client:
        for ext in ("101", "102", "103"):
            assert (await client.put(f"/api/v1/operators/{ext}/messages/1", content=SPEECH_WAV)).is_success
        patched = await client.patch(
            "/api/v1/operators/102",
            json={"name": "Ivan Petrov", "pin": "4321", "expires_at": expires.isoformat()},
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["name"] == "Ivan Petrov"
        assert patched.json()["has_pin"] is True
        past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        assert (await client.patch("/api/v1/operators/103", json={"expires_at": past})).is_success
        off = await client.post("/api/v1/operators/101/off")
        assert off.json() == {"extension": "101", "message_enabled": False}
        assert (await client.get("/api/v1/operators/101")).json()["playing"] is False

        async def extensions(**params: str | int) -> list[str]:
            page = (await client.get("/api/v1/operators", params=params)).json()
            return [item["extension"] for item in page["items"]]

        assert await extensions() == ["101", "102", "103"]
        assert await extensions(state="active") == ["102"]
        assert await extensions(state="expired") == ["103"]
        assert await extensions(search="Petrov") == ["102"]
        assert await extensions(limit=1, offset=1) == ["102"]
        assert (await client.post("/api/v1/operators/101/on")).json()["message_enabled"] is True
        cleared = await client.patch("/api/v1/operators/102", json={"pin": None, "active_status": None})
        assert cleared.json()["has_pin"] is False
        assert cleared.json()["active_status"] is None
        refused = await client.patch("/api/v1/operators/101", json={"pin": "12", "name": "X"})
        assert refused.status_code == 400
        assert (await client.get("/api/v1/operators/101")).json()["name"] is None
    assert await web.service.operators.verify_pin("102", "4321") is False


async def test_audit_filters(web: Web) -> None:
    async with web.api() as client:
        await client.put("/api/v1/operators/101/messages/1", content=SPEECH_WAV)
        await client.post("/api/v1/operators/102/off")
        by_ext = (await client.get("/api/v1/audit", params={"extension": "102"})).json()
        assert [i["action"] for i in by_ext["items"]] == ["message.disable"]
        by_actor = (await client.get("/api/v1/audit", params={"actor": "cli"})).json()
        assert {i["action"] for i in by_actor["items"]} == {"admin.create", "token.create"}
        by_action = (await client.get("/api/v1/audit", params={"action": "message.accept"})).json()
        assert by_action["total"] == 1
        future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        assert (await client.get("/api/v1/audit", params={"since": future})).json()["total"] == 0


async def test_metrics_and_latency(web: Web) -> None:
    async with web.api() as client:
        await client.get("/api/v1/operators")
        text = (await client.get("/metrics")).text
    assert 'voicestatus_http_request_seconds_count{method="GET",route="/api/v1/operators"} 1.0' in text
    assert "voicestatus_ari_connected" in text


async def test_metrics_can_require_auth(tmp_path: Path) -> None:
    async for web in start_web(web_config(tmp_path, free_port(), metrics_public=False)):
        async with web.anonymous() as client:
            assert (await client.get("/metrics")).status_code == 401
        async with web.api() as client:
            assert (await client.get("/metrics")).status_code == 200


async def test_revoked_admin_password_ends_sessions(web: Web) -> None:
    await web.service.accounts.set_password("alice", "another password", actor=Actor("cli", "t"))
    assert await web.service.accounts.authenticate("alice", "correct horse battery") is None
    assert await web.service.accounts.authenticate("alice", "another password") is not None
