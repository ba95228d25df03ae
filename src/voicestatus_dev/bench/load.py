"""The load generator: calls as Local channel pairs at a fixed rate.

It must never be what saturates first, so it is deliberately thin: one
persistent HTTP connection (requests are sent one after another by the
scheduler itself, so no connection-pool queue ever forms), one events
websocket with an Asterisk-side event filter, and raw JSON handled as
dicts. Both latency timestamps come from Asterisk's own events, so the
generator's scheduling delays do not enter the figures:

- the dialplan half (``;2``) being created: the call enters the context;
- the dialplan half going ``Up``: the path answered the caller;
- ``ChannelTalkingStarted`` on the caller half (``;1``, which has
  ``TALK_DETECT`` set at origination): the first audio reached the caller.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from voicestatus_dev.bench.stats import CallSample

log = logging.getLogger(__name__)

EVENT_TYPES = ("ChannelCreated", "ChannelStateChange", "ChannelTalkingStarted", "ChannelDestroyed")
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"


@dataclass
class _Call:
    created: str | None = None
    up: str | None = None
    talking: str | None = None
    ended: bool = False
    error: str | None = None


def _ms_between(start: str | None, end: str | None) -> float | None:
    if start is None or end is None:
        return None
    delta = datetime.strptime(end, _TS_FORMAT) - datetime.strptime(start, _TS_FORMAT)
    return delta.total_seconds() * 1000.0


def sample(call: _Call) -> CallSample:
    """Classify one finished call: latencies, or why it failed."""
    failure = call.error
    if failure is None and call.up is None:
        failure = "not-answered"
    elif failure is None and call.talking is None:
        failure = "no-audio"
    return CallSample(
        answered_to_audio_ms=_ms_between(call.up, call.talking),
        created_to_audio_ms=_ms_between(call.created, call.talking),
        failure=failure,
    )


class LoadGenerator:
    """Places calls into ``Local/<exten>@<context>`` and watches them through ARI events."""

    def __init__(self, ari_url: str, username: str, password: str, *, caller_context: str) -> None:
        self.caller_context = caller_context
        self.app = f"vs-bench-{uuid.uuid4().hex[:8]}"
        base = ari_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=base + "/ari",
            auth=httpx.BasicAuth(username, password),
            timeout=httpx.Timeout(10.0),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        scheme, _, rest = base.partition("://")
        query = urlencode({"app": self.app, "subscribeAll": "true"})
        self._ws_url = f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ari/events?{query}"
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._ws_headers = {"Authorization": f"Basic {token}"}
        self._calls: dict[str, _Call] = {}
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        self._ws = await websockets.connect(
            self._ws_url, additional_headers=self._ws_headers, max_size=2**22, max_queue=None
        )
        body = {"allowed": [{"type": t} for t in EVENT_TYPES], "disallowed": []}
        response = await self._http.put(f"/applications/{self.app}/eventFilter", json=body)
        response.raise_for_status()
        self._reader = asyncio.create_task(self._read(self._ws), name="bench-events")

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        await self._http.aclose()

    async def _read(self, ws: ClientConnection) -> None:
        async for message in ws:
            event = json.loads(message)
            channel = event.get("channel")
            if not channel:
                continue
            channel_id: str = channel["id"]
            dialplan_half = channel_id.endswith("d")
            call = self._calls.get(channel_id[:-1])
            if call is None:
                continue
            kind = event["type"]
            if dialplan_half:
                if kind == "ChannelCreated":
                    call.created = event["timestamp"]
                elif kind == "ChannelStateChange" and channel["state"] == "Up" and call.up is None:
                    call.up = event["timestamp"]
            elif kind == "ChannelTalkingStarted" and call.talking is None:
                call.talking = event["timestamp"]
            elif kind == "ChannelDestroyed":
                call.ended = True
                self._changed.set()

    async def _originate(self, call_id: str, endpoint: str) -> None:
        call = _Call()
        self._calls[call_id] = call
        params = {
            "endpoint": endpoint,
            "context": self.caller_context,
            "extension": "s",
            "priority": "1",
            "channelId": f"{call_id}c",
            "otherChannelId": f"{call_id}d",
            "timeout": "10",
            # A G.711 phone. Without a format the Local pair negotiates one
            # that costs Asterisk ten times more CPU per call in transcoding.
            "formats": "ulaw",
        }
        try:
            response = await self._http.post(
                "/channels", params=params, json={"variables": {"TALK_DETECT(set)": ""}}
            )
        except httpx.HTTPError as exc:
            call.error, call.ended = f"originate-{type(exc).__name__}", True
            return
        if not response.is_success:
            call.error, call.ended = f"originate-http-{response.status_code}", True

    async def run(self, endpoint: str, rate: float, seconds: float, *, hold: float) -> list[CallSample]:
        """Originate ``rate`` calls per second for ``seconds``; wait ``hold`` + slack for them to end."""
        self._calls = {}
        loop = asyncio.get_running_loop()
        start = loop.time()
        count = round(rate * seconds)
        prefix = uuid.uuid4().hex[:8]
        for i in range(count):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._originate(f"vsb-{prefix}-{i}-", endpoint)
        deadline = loop.time() + hold + 10.0
        while not all(c.ended for c in self._calls.values()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))
        await self._hang_up_leftovers()
        return [sample(c) for c in self._calls.values()]

    async def _hang_up_leftovers(self) -> None:
        for call_id, call in self._calls.items():
            if not call.ended:
                if call.error is None and call.talking is None:
                    call.error = "stuck"
                with contextlib.suppress(httpx.HTTPError):
                    await self._http.delete(f"/channels/{call_id}c")
