"""The ARI REST client against httpx.MockTransport: requests, auth, errors."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from voicestatus.ari.client import AriClient
from voicestatus.errors import (
    AriAuthError,
    AriError,
    AriNotFound,
    AriRequestError,
    AriUnreachable,
)


def make_client(handler: httpx.MockTransport) -> AriClient:
    return AriClient("http://pbx.example:8088/", "vs", "s3cret", transport=handler)


async def test_credentials_travel_in_header_not_url() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"system": {"version": "22.10.1"}})

    async with make_client(httpx.MockTransport(handler)) as ari:
        info = await ari.asterisk_info()
    assert info.system.version == "22.10.1"
    request = seen[0]
    assert str(request.url) == "http://pbx.example:8088/ari/asterisk/info"
    assert "s3cret" not in str(request.url)
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"vs:s3cret").decode()


async def test_originate_builds_query_and_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "c1", "name": "Local/1@x-0001;1", "state": "Down"})

    async with make_client(httpx.MockTransport(handler)) as ari:
        channel = await ari.originate("Local/101@ctx", app="drv", caller_id="101", variables={"FOO": "bar"})
    assert channel.id == "c1"
    request = seen[0]
    assert request.method == "POST"
    assert request.url.path == "/ari/channels"
    assert request.url.params["endpoint"] == "Local/101@ctx"
    assert request.url.params["app"] == "drv"
    assert request.url.params["callerId"] == "101"
    assert json.loads(request.content) == {"variables": {"FOO": "bar"}}


async def test_play_joins_media_and_sets_language() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "pb1", "state": "queued"})

    async with make_client(httpx.MockTransport(handler)) as ari:
        playback = await ari.play("c1", ["sound:beep", "digits:101"], lang="ru", playback_id="pb1")
    assert playback.id == "pb1"
    assert seen[0].url.path == "/ari/channels/c1/play/pb1"
    assert seen[0].url.params["media"] == "sound:beep,digits:101"
    assert seen[0].url.params["lang"] == "ru"


async def test_booleans_are_sent_as_ari_expects() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"name": "r1", "state": "queued"})

    async with make_client(httpx.MockTransport(handler)) as ari:
        await ari.record("c1", "r1", beep=True, terminate_on="#", max_duration=60, max_silence=5)
    params = seen[0].url.params
    assert params["beep"] == "true"
    assert params["terminateOn"] == "#"
    assert params["maxDurationSeconds"] == "60"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AriAuthError),
        (403, AriAuthError),
        (404, AriNotFound),
        (409, AriRequestError),
        (500, AriRequestError),
    ],
)
async def test_error_statuses_map_to_our_exceptions(status: int, error: type[AriError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"message": "Channel not found"})

    async with make_client(httpx.MockTransport(handler)) as ari:
        with pytest.raises(error) as caught:
            await ari.answer("gone")
    assert caught.value.error_id
    if status not in (401, 403):
        assert caught.value.message == "Channel not found"


async def test_connection_refused_is_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with make_client(httpx.MockTransport(handler)) as ari:
        with pytest.raises(AriUnreachable) as caught:
            await ari.asterisk_info()
    assert caught.value.error_id == "asterisk-ari-unreachable"
    assert caught.value.status_code == 503


async def test_timeout_is_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with make_client(httpx.MockTransport(handler)) as ari:
        with pytest.raises(AriUnreachable, match="timed out"):
            await ari.hangup("c1")


async def test_unset_variable_reads_as_none() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["variable"] == "EXTTOCALL":
            return httpx.Response(404, json={"message": "Provided variable was not found"})
        return httpx.Response(200, json={"value": "101"})

    async with make_client(httpx.MockTransport(handler)) as ari:
        assert await ari.get_variable("c1", "EXTTOCALL") is None
        assert await ari.get_variable("c1", "CONNECTEDLINE(num,i)") == "101"


async def test_missing_channel_on_variable_read_still_raises() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"message": "Channel not found"})

    async with make_client(httpx.MockTransport(handler)) as ari:
        with pytest.raises(AriNotFound):
            await ari.get_variable("gone", "EXTTOCALL")


async def test_stored_recording_download_returns_bytes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/ari/recordings/stored/rec-1/file"
        return httpx.Response(200, content=b"RIFF....WAVE", headers={"content-type": "audio/wav"})

    async with make_client(httpx.MockTransport(handler)) as ari:
        assert await ari.get_stored_recording("rec-1") == b"RIFF....WAVE"


async def test_event_filter_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"name": "voicestatus"})

    async with make_client(httpx.MockTransport(handler)) as ari:
        await ari.set_event_filter("voicestatus", ["StasisStart", "StasisEnd"])
    assert seen[0].method == "PUT"
    assert json.loads(seen[0].content) == {
        "allowed": [{"type": "StasisStart"}, {"type": "StasisEnd"}],
        "disallowed": [],
    }


async def test_snoop_places_a_spy_channel_in_the_app() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "snoop-1", "name": "Snoop/c1-00000001", "state": "Up"})

    async with make_client(httpx.MockTransport(handler)) as ari:
        channel = await ari.snoop("c1", app="drv", spy="in", snoop_id="snoop-1")
        await ari.snoop("c2", app="drv", whisper="out")
    assert channel.id == "snoop-1"
    assert seen[0].method == "POST"
    assert seen[0].url.path == "/ari/channels/c1/snoop"
    assert dict(seen[0].url.params) == {"spy": "in", "whisper": "none", "app": "drv", "snoopId": "snoop-1"}
    assert dict(seen[1].url.params) == {"spy": "none", "whisper": "out", "app": "drv"}
