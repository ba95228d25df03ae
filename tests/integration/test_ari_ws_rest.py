"""ARI requests over the events websocket (Asterisk's REST over WebSocket) and the HTTP fallback."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from voicestatus.ari.client import AriClient
from voicestatus.ari.events import EventStream
from voicestatus.errors import AriNotFound, AriUnreachable
from voicestatus_dev.sandbox import SandboxInfo

pytestmark = pytest.mark.asterisk


def _http_is_down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("HTTP deliberately unavailable in this test", request=request)


@pytest.fixture
async def streams(sandbox_info: SandboxInfo) -> AsyncIterator[tuple[EventStream, EventStream]]:
    info = sandbox_info
    name = f"vs-ws-{uuid.uuid4().hex[:6]}"
    pair = tuple(
        EventStream(info.ari_url, info.ari_username, info.ari_password, [app], lambda _e: None, min_delay=0.2)
        for app in (name, f"{name}-rest-1")
    )
    for stream in pair:
        stream.start()
    try:
        for stream in pair:
            await stream.wait_connected(15)
            assert await stream.wait_rest_checked(15), "Asterisk 22 answers requests over the websocket"
        yield pair[0], pair[1]
    finally:
        for stream in pair:
            await stream.close()


async def test_live_call_requests_use_the_websockets(
    sandbox_info: SandboxInfo, streams: tuple[EventStream, EventStream]
) -> None:
    events, waiting = streams
    info = sandbox_info
    transport = httpx.MockTransport(_http_is_down)
    async with AriClient(info.ari_url, info.ari_username, info.ari_password, transport=transport) as ari:
        ari.use_websocket(events, waiting=[waiting])
        # Asterisk's own answers arrive although HTTP is down, errors mapped as over HTTP.
        with pytest.raises(AriNotFound, match="channel"):
            await ari.get_variable("no-such-channel", "CALLERID(num)")
        with pytest.raises(AriNotFound):
            await ari.hangup("no-such-channel")
        with pytest.raises(AriNotFound):
            await ari.answer("no-such-channel")
        with pytest.raises(AriNotFound):
            await ari.set_variable("no-such-channel", "X", "a b&c=d")
        assert events.rest_in_flight == 0
        assert waiting.rest_in_flight == 0
        # Requests that are not a live call's keep using HTTP.
        with pytest.raises(AriUnreachable):
            await ari.get_global_variable("X")
        # Without a connected socket, everything falls back to HTTP.
        await waiting.close()
        await events.close()
        with pytest.raises(AriUnreachable):
            await ari.get_variable("no-such-channel", "X")


async def test_values_travel_unchanged(
    sandbox_info: SandboxInfo, streams: tuple[EventStream, EventStream]
) -> None:
    events, waiting = streams
    info = sandbox_info
    async with AriClient(info.ari_url, info.ari_username, info.ari_password) as ari:
        ari.use_websocket(events, waiting=[waiting])
        value = "sound:http://127.0.0.1:1/media/x.wav?a=1&b=é,c d"
        await ari.request("POST", "/asterisk/variable", params={"variable": "VS_WS_TEST", "value": value})
        assert await ari.get_global_variable("VS_WS_TEST") == value
