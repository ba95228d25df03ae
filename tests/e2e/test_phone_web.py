"""Both directions against the real sandbox Asterisk: phone to web, and web to caller."""

from __future__ import annotations

import re

import httpx
import pytest

from menu_support import trusting_caller_id
from support import wait_activity
from voicestatus.app import Service
from voicestatus.ari.models import StasisStart
from voicestatus.audio.wav import encode_wav
from voicestatus.config import Config
from voicestatus.services.audit import Actor
from voicestatus_dev.analysis import detect_tones, tone
from voicestatus_dev.driver import CallDriver
from web_support import PASSWORD, login_session, wait_for_async

pytestmark = pytest.mark.asterisk


@pytest.fixture
def service_config(service_config: Config) -> Config:
    """The driver's Local-channel calls stand for operators' phones by caller ID (see trusting_caller_id)."""
    return trusting_caller_id(service_config)


async def web_client(service: Service) -> httpx.AsyncClient:
    await service.accounts.create_admin("alice", PASSWORD, actor=Actor("cli", "test"))
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.config.http.port}", timeout=30)


async def test_phone_recording_appears_in_the_ui(service: Service, driver: CallDriver) -> None:
    call = await driver.call("*600", "voicestatus-menu", caller_id="101")
    await call.wait_answered()
    await wait_activity(service, "playing")
    await call.dtmf("1")
    await wait_activity(service, "recording")
    await call.say(tone(600, 2.0))
    await call.dtmf("#")
    await wait_activity(service, "waiting-for-key")
    await call.dtmf("1")

    async def accepted() -> bool:
        return await service.messages.playable("101") is not None

    await wait_for_async(accepted, 30, "the phone recording to be accepted")
    await call.hangup()

    async with await web_client(service) as client:
        await login_session(client, {"username": "alice", "password": PASSWORD})
        op = (await client.get("/api/v1/operators/101")).json()
        assert op["playing"] is True
        assert op["messages"][0]["created_by"].startswith("phone:")
        page = (await client.get("/")).text
        row = re.search(r'<tr data-extension="101">.*?</tr>', page, re.S)
        assert row is not None
        assert "Playing" in row[0]
        assert op["messages"][0]["media_url"] in row[0]


async def test_message_uploaded_in_the_api_is_what_callers_hear(service: Service, driver: CallDriver) -> None:
    async with await web_client(service) as client:
        csrf = await login_session(client, {"username": "alice", "password": PASSWORD})
        upload = await client.put(
            "/api/v1/operators/102/messages/away",
            files={"file": ("msg.wav", encode_wav(tone(700, 2.0).samples, 8000), "audio/wav")},
            headers={"X-CSRF-Token": csrf},
        )
        assert upload.status_code == 201, upload.text
    call = await driver.call("102", "voicestatus-unavailable", caller_id="200")
    await call.wait_event(StasisStart, 15)
    heard = await call.listen(8)
    tones = detect_tones(heard, [700, 600])
    assert tones[700] > 1.2, f"the caller did not hear the uploaded message: {tones}"
    assert tones[600] < 0.2
