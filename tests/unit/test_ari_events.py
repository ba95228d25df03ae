"""The ARI event stream against a local websocket server standing in for Asterisk."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from support import wait_until
from voicestatus.ari.events import ConnectionState, EventStream
from voicestatus.ari.models import (
    ChannelDtmfReceived,
    Event,
    PlaybackFinished,
    StasisStart,
    parse_event,
)

STASIS_START = {
    "type": "StasisStart",
    "application": "voicestatus",
    "timestamp": "2026-11-26T10:00:00.000+0000",
    "args": ["menu", "101"],
    "channel": {
        "id": "1700000000.1",
        "name": "PJSIP/101-00000001",
        "state": "Ring",
        "caller": {"name": "", "number": "101"},
        "connected": {"name": "", "number": ""},
        "dialplan": {"context": "voicestatus-menu", "exten": "*600", "priority": 1},
        "language": "ru",
        "unknown_future_field": {"x": 1},
    },
}


@dataclass
class FakeAsterisk:
    """Accepts ARI websocket connections, records them, sends what it is told."""

    connections: list[ServerConnection] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    server: Server | None = None

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.paths.append(ws.request.path)
        self.auth.append(ws.request.headers.get("Authorization"))
        self.connections.append(ws)
        self.connected.set()
        await ws.wait_closed()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = next(iter(self.server.sockets)).getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def wait_connections(self, count: int) -> ServerConnection:
        async with asyncio.timeout(10):
            while len(self.connections) < count:
                await asyncio.sleep(0.01)
        return self.connections[count - 1]


@pytest.fixture
async def fake_asterisk() -> AsyncIterator[FakeAsterisk]:
    fake = FakeAsterisk()
    async with serve(fake.handler, "127.0.0.1", 0) as server:
        fake.server = server
        yield fake


def test_parse_known_and_unknown_events() -> None:
    event = parse_event(json.dumps(STASIS_START))
    assert isinstance(event, StasisStart)
    assert event.args == ["menu", "101"]
    assert event.channel.caller.number == "101"
    assert event.channel.language == "ru"
    assert event.channel_id == "1700000000.1"
    other = parse_event({"type": "BridgeCreated", "application": "voicestatus"})
    assert type(other) is Event
    dtmf = parse_event({"type": "ChannelDtmfReceived", "digit": "#", "channel": {"id": "c"}})
    assert isinstance(dtmf, ChannelDtmfReceived)
    assert dtmf.digit == "#"
    finished = parse_event({"type": "PlaybackFinished", "playback": {"id": "p", "target_uri": "channel:c"}})
    assert isinstance(finished, PlaybackFinished)


@pytest.mark.parametrize("raw", ["not json", "[]", '{"no": "type"}', '{"type": "StasisStart"}'])
def test_parse_rejects_garbage(raw: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - pydantic errors are ValueErrors too
        parse_event(raw)


async def test_events_are_delivered_with_auth_header_and_app(fake_asterisk: FakeAsterisk) -> None:
    received: list[Event] = []
    stream = EventStream(fake_asterisk.url, "vs", "pw", ["voicestatus"], received.append)
    stream.start()
    try:
        await stream.wait_connected(5)
        ws = await fake_asterisk.wait_connections(1)
        await ws.send("garbage that must be dropped")
        await ws.send(json.dumps(STASIS_START))
        await wait_until(lambda: len(received) == 1)
    finally:
        await stream.close()
    assert isinstance(received[0], StasisStart)
    assert fake_asterisk.paths[0] == "/ari/events?app=voicestatus&subscribeAll=false"
    assert fake_asterisk.auth[0] == "Basic " + base64.b64encode(b"vs:pw").decode()
    assert stream.state is ConnectionState.CLOSED


async def test_reconnects_after_the_socket_closes(fake_asterisk: FakeAsterisk) -> None:
    received: list[Event] = []
    states: list[ConnectionState] = []
    hooks = 0

    async def on_connect() -> None:
        nonlocal hooks
        hooks += 1

    stream = EventStream(
        fake_asterisk.url,
        "vs",
        "pw",
        ["voicestatus"],
        received.append,
        on_connect=on_connect,
        on_state=states.append,
        min_delay=0.01,
        max_delay=0.05,
    )
    stream.start()
    try:
        first = await fake_asterisk.wait_connections(1)
        await first.close()
        second = await fake_asterisk.wait_connections(2)
        await stream.wait_connected(5)
        await second.send(json.dumps(STASIS_START))
        await wait_until(lambda: len(received) == 1)
    finally:
        await stream.close()
    assert hooks == 2, "the on-connect hook re-subscribes after every reconnect"
    assert stream.connections == 2
    assert ConnectionState.DISCONNECTED in states
    assert states[-1] is ConnectionState.CLOSED


async def test_keeps_retrying_while_asterisk_is_down() -> None:
    states: list[ConnectionState] = []
    stream = EventStream(
        "http://127.0.0.1:9",
        "vs",
        "pw",
        ["voicestatus"],
        lambda e: None,
        on_state=states.append,
        min_delay=0.01,
        max_delay=0.02,
    )
    stream.start()
    try:
        await wait_until(lambda: states.count(ConnectionState.CONNECTING) >= 3)
    finally:
        await stream.close()
    assert ConnectionState.CONNECTED not in states


async def test_a_failing_handler_does_not_kill_the_stream(fake_asterisk: FakeAsterisk) -> None:
    received: list[Event] = []

    def handler(event: Event) -> None:
        received.append(event)
        if len(received) == 1:
            raise RuntimeError("bug in a flow")

    stream = EventStream(fake_asterisk.url, "vs", "pw", ["voicestatus"], handler)
    stream.start()
    try:
        ws = await fake_asterisk.wait_connections(1)
        await stream.wait_connected(5)
        await ws.send(json.dumps(STASIS_START))
        await ws.send(json.dumps(STASIS_START))
        await wait_until(lambda: len(received) == 2)
    finally:
        await stream.close()
    assert stream.connections == 1


def test_backoff_is_jittered_and_bounded() -> None:
    stream = EventStream("http://x", "u", "p", ["a"], lambda e: None, min_delay=0.5, max_delay=8)
    delays = [stream._backoff(attempt) for attempt in range(12) for _ in range(20)]
    assert min(delays) >= 0.5
    assert max(delays) <= 8
    assert len({round(d, 3) for d in delays}) > 50
