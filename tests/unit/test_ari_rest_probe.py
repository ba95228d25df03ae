"""Requests over the events websocket only where Asterisk answers them.

Asterisk before 20.14, 21.9 and 22.4 reads and ignores what a client sends on
``/ari/events``: a request sent there would wait for its timeout on every
call. The stream probes once per connection and, until Asterisk answers,
every request goes over HTTP at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.server import ServerConnection, serve

from voicestatus.ari.client import AriClient
from voicestatus.ari.events import EventStream
from voicestatus.ari.ws_rest import RestUnavailable


class Asterisk:
    """A stand-in ARI websocket; ``answers`` says whether it takes REST requests."""

    def __init__(self, answers: bool) -> None:
        self.answers = answers
        self.requests: list[dict[str, object]] = []

    async def handler(self, ws: ServerConnection) -> None:
        async for raw in ws:
            message = json.loads(raw)
            self.requests.append(message)
            if self.answers:
                reply = {
                    "type": "RESTResponse",
                    "request_id": message["request_id"],
                    "status_code": 204 if message["uri"] != "asterisk/ping" else 200,
                    "reason_phrase": "OK",
                    "message_body": "",
                }
                await ws.send(json.dumps(reply))


async def _stream(asterisk: Asterisk) -> AsyncIterator[EventStream]:
    async with serve(asterisk.handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        stream = EventStream(
            f"http://127.0.0.1:{port}", "vs", "pw", ["voicestatus"], lambda _e: None, rest_probe_timeout=0.3
        )
        stream.start()
        try:
            await stream.wait_connected(5)
            yield stream
        finally:
            await stream.close()


@pytest.fixture
async def old_asterisk() -> AsyncIterator[tuple[Asterisk, EventStream]]:
    asterisk = Asterisk(answers=False)
    async for stream in _stream(asterisk):
        yield asterisk, stream


@pytest.fixture
async def new_asterisk() -> AsyncIterator[tuple[Asterisk, EventStream]]:
    asterisk = Asterisk(answers=True)
    async for stream in _stream(asterisk):
        yield asterisk, stream


async def test_an_asterisk_that_ignores_requests_gets_them_over_http(
    old_asterisk: tuple[Asterisk, EventStream], caplog: pytest.LogCaptureFixture
) -> None:
    asterisk, stream = old_asterisk
    with caplog.at_level(logging.INFO, logger="voicestatus.ari.ws_rest"):
        assert await stream.wait_rest_checked(5) is False
    assert stream.rest_supported is False
    assert "needs Asterisk 20.14, 21.9, 22.4 or later" in caplog.text
    with pytest.raises(RestUnavailable):
        await stream.rest("POST", "channels/c1/answer", timeout=5)

    http_calls: list[str] = []

    def http(request: httpx.Request) -> httpx.Response:
        http_calls.append(f"{request.method} {request.url.path}")
        return httpx.Response(204)

    async with AriClient(
        "http://pbx.example:8088", "vs", "pw", transport=httpx.MockTransport(http), timeout=5
    ) as ari:
        ari.use_websocket(stream, waiting=[stream])
        await ari.answer("c1")
        await ari.hangup("c1")
    assert http_calls == ["POST /ari/channels/c1/answer", "DELETE /ari/channels/c1"]
    # Nothing but the probe went over the socket: no request waited for an answer that never comes.
    assert [r["uri"] for r in asterisk.requests] == ["asterisk/ping"]


async def test_an_asterisk_that_answers_gets_the_calls_requests_on_the_socket(
    new_asterisk: tuple[Asterisk, EventStream],
) -> None:
    asterisk, stream = new_asterisk
    assert await stream.wait_rest_checked(5) is True

    def no_http(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected HTTP request {request.url}")

    async with AriClient(
        "http://pbx.example:8088", "vs", "pw", transport=httpx.MockTransport(no_http)
    ) as ari:
        ari.use_websocket(stream, waiting=[stream])
        await ari.answer("c1")
        await ari.hangup("c1")
    assert [(r["method"], r["uri"]) for r in asterisk.requests] == [
        ("GET", "asterisk/ping"),
        ("POST", "channels/c1/answer"),
        ("DELETE", "channels/c1"),
    ]
