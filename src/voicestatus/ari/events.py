"""The ARI events websocket, kept alive across Asterisk restarts.

Connecting the websocket is what registers Stasis applications, so a dropped
socket means calls to ``Stasis(voicestatus,...)`` fail over to the dialplan
fallback until we are back. The stream therefore reconnects by itself with
jittered exponential backoff (many service instances must not hammer a
restarting Asterisk in lockstep) and calls ``on_connect`` after each
connection so owners can re-apply event filters and other subscriptions.

The same socket also carries REST requests (``RESTRequest``/``RESTResponse``,
"ARI REST over WebSocket", see ``ws_rest.py``): a JSON message each way costs
a tenth of the CPU of an HTTP request through httpx, which matters on the
caller path. ``AriClient`` uses it via ``rest`` once Asterisk has answered the
connection's probe, and falls back to HTTP otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.protocol import State

from voicestatus.ari.models import Event, parse_event
from voicestatus.ari.ws_rest import (
    REST_PROBE_TIMEOUT,
    RestReply,
    RestUnavailable,
    WsRest,
)

log = logging.getLogger(__name__)

# Reconnect jitter from a generator of our own: the process's global one
# belongs to whoever embeds us (and its state is watched by test frameworks).
_JITTER = random.Random()  # noqa: S311

EventHandler = Callable[[Event], None]
# Decides from the raw JSON whether an event is worth parsing and handing on.
EventPredicate = Callable[[Mapping[str, Any]], bool]
ConnectHook = Callable[[], Awaitable[None]]


class ConnectionState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


class EventStream:
    """Receives events for one or more Stasis apps and hands them to ``handler``.

    ``handler`` is called synchronously in arrival order and must not block;
    long work belongs in tasks the handler starts.
    """

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        apps: Sequence[str],
        handler: EventHandler,
        *,
        on_connect: ConnectHook | None = None,
        on_state: Callable[[ConnectionState], None] | None = None,
        min_delay: float = 0.5,
        max_delay: float = 30.0,
        subscribe_all: bool = False,
        wanted: EventPredicate | None = None,
        rest_probe_timeout: float = REST_PROBE_TIMEOUT,
    ) -> None:
        base = url.rstrip("/")
        scheme, _, rest = base.partition("://")
        ws_scheme = "wss" if scheme == "https" else "ws"
        query = urlencode({"app": ",".join(apps), "subscribeAll": str(subscribe_all).lower()})
        self.ws_url = f"{ws_scheme}://{rest}/ari/events?{query}"
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self.apps = tuple(apps)
        self._handler = handler
        self._wanted = wanted
        self._on_connect = on_connect
        self._on_state = on_state
        self._min_delay = min_delay
        self._max_delay = max_delay
        self._state = ConnectionState.DISCONNECTED
        self._connected = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.connections = 0
        self._rest = WsRest(rest_probe_timeout)

    @property
    def state(self) -> ConnectionState:
        return self._state

    def start(self) -> None:
        """Start connecting in the background (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"ari-events-{','.join(self.apps)}")

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def close(self) -> None:
        """Stop for good: close the socket and end the reconnect loop."""
        self._closing = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._set_state(ConnectionState.CLOSED)

    @property
    def rest_ready(self) -> bool:
        """True while REST requests can go over the websocket."""
        return self._rest.supported is True and self._state is ConnectionState.CONNECTED

    @property
    def rest_supported(self) -> bool | None:
        """Whether Asterisk answers requests on this connection; None until probed."""
        return self._rest.supported

    async def wait_rest_checked(self, timeout: float | None = None) -> bool:
        """Wait for this connection's probe; return whether requests can go over the socket."""
        await self._rest.wait_checked(timeout)
        return self.rest_ready

    @property
    def rest_in_flight(self) -> int:
        """REST requests sent over this socket and not answered yet."""
        return self._rest.in_flight

    async def rest(
        self,
        method: str,
        uri: str,
        query: Mapping[str, str] | None = None,
        *,
        timeout: float,
    ) -> RestReply:
        """One REST request over the websocket (``uri`` relative to ``/ari/``).

        Raises ``RestUnavailable`` when nothing was sent, ``RestConnectionLost``
        when the socket closed before the answer, ``TimeoutError`` after ``timeout``.
        """
        ws = self._ws
        if ws is None or not self.rest_ready or ws.state is not State.OPEN:
            raise RestUnavailable
        return await self._rest.request(ws, method, uri, query, timeout)

    def _set_state(self, state: ConnectionState) -> None:
        if state is self._state:
            return
        self._state = state
        if state is ConnectionState.CONNECTED:
            self._connected.set()
        else:
            self._connected.clear()
        if self._on_state is not None:
            self._on_state(state)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._max_delay, self._min_delay * (2**attempt))
        return _JITTER.uniform(self._min_delay, max(self._min_delay, ceiling))

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            self._set_state(ConnectionState.CONNECTING)
            try:
                async with websockets.connect(
                    self.ws_url,
                    additional_headers=self._headers,
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                    max_size=2**22,
                ) as ws:
                    self._ws = ws
                    attempt = 0
                    self.connections += 1
                    log.info("ARI events connected for app(s) %s", ",".join(self.apps))
                    if self._on_connect is not None:
                        try:
                            await self._on_connect()
                        except Exception:
                            log.exception("ARI on-connect hook failed")
                    self._set_state(ConnectionState.CONNECTED)
                    probe = asyncio.create_task(self._rest.probe(ws), name="ari-rest-probe")
                    try:
                        await self._receive(ws)
                    finally:
                        probe.cancel()
            except asyncio.CancelledError:
                raise
            except (OSError, websockets.exceptions.WebSocketException, TimeoutError) as exc:
                if not self._closing:
                    log.warning("ARI events connection lost or refused: %s", exc)
            finally:
                self._ws = None
                self._rest.connection_lost()
            if self._closing:
                break
            self._set_state(ConnectionState.DISCONNECTED)
            delay = self._backoff(attempt)
            attempt += 1
            log.info("reconnecting to ARI in %.1f s", delay)
            await asyncio.sleep(delay)

    async def _receive(self, ws: ClientConnection) -> None:
        async for message in ws:
            try:
                data = json.loads(message)
                if isinstance(data, dict) and data.get("type") == "RESTResponse":
                    self._rest.reply(data)
                    continue
                if self._wanted is not None and isinstance(data, dict) and not self._wanted(data):
                    continue
                event = parse_event(data)
            except ValueError:
                log.warning("dropping an ARI message that is not an event")
                continue
            try:
                self._handler(event)
            except Exception:
                log.exception("ARI event handler failed on %s", event.type)
