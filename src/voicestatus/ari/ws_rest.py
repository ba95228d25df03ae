"""ARI requests over the events websocket: ids, answers, and whether Asterisk takes them.

Asterisk 20.14, 21.9 and 22.4 added "ARI REST over WebSocket": a
``RESTRequest`` sent on the events socket gets a ``RESTResponse`` event back.
Earlier releases read and ignore what a client sends there, so a request would
only time out; ``probe`` asks once per connection (and again every
``REST_PROBE_INTERVAL`` while unanswered) before any call's request uses it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import websockets
from websockets.asyncio.client import ClientConnection

log = logging.getLogger(__name__)

# How long the probe waits for Asterisk to answer a request over the socket,
# and how often an unanswered probe is repeated on the same connection.
REST_PROBE_TIMEOUT = 3.0
REST_PROBE_INTERVAL = 60.0


class RestUnavailable(Exception):
    """The request was not sent over the websocket (not connected); use HTTP instead."""


class RestConnectionLost(Exception):
    """The websocket closed after the request was sent; its outcome is unknown."""


@dataclass(frozen=True)
class RestReply:
    status: int
    reason: str
    body: str


class WsRest:
    """The REST side of one events websocket, across its reconnections."""

    def __init__(self, probe_timeout: float = REST_PROBE_TIMEOUT) -> None:
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[RestReply]] = {}
        self._probe_timeout = probe_timeout
        # None until this connection's probe has an answer.
        self.supported: bool | None = None
        self._checked = asyncio.Event()

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def wait_checked(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._checked.wait(), timeout)

    async def request(
        self,
        ws: ClientConnection,
        method: str,
        uri: str,
        query: Mapping[str, str] | None,
        timeout: float,
    ) -> RestReply:
        request_id = f"vs{next(self._ids)}"
        message: dict[str, object] = {
            "type": "RESTRequest",
            "request_id": request_id,
            "method": method,
            "uri": uri,
        }
        if query:
            message["query_strings"] = [{"name": k, "value": v} for k, v in query.items()]
        future: asyncio.Future[RestReply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            try:
                await ws.send(json.dumps(message))
            except websockets.exceptions.ConnectionClosed as exc:
                # It may have gone out before the close: its outcome is unknown.
                raise RestConnectionLost from exc
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)

    def reply(self, data: Mapping[str, object]) -> None:
        """A ``RESTResponse`` arrived: hand it to the request waiting for it."""
        future = self._pending.get(str(data.get("request_id", "")))
        if future is None or future.done():
            return
        status = data.get("status_code")
        body = data.get("message_body")
        future.set_result(
            RestReply(
                status if isinstance(status, int) else 500,
                str(data.get("reason_phrase", "")),
                body if isinstance(body, str) else "",
            )
        )

    def connection_lost(self) -> None:
        """Fail what is pending; the next connection is probed afresh."""
        self.supported = None
        self._checked.clear()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(RestConnectionLost())
                future.exception()
        self._pending.clear()

    async def probe(self, ws: ClientConnection) -> None:
        """Find out whether Asterisk answers requests on ``ws``; retry while it does not."""
        told = False
        while True:
            try:
                await self.request(ws, "GET", "asterisk/ping", None, self._probe_timeout)
            except TimeoutError:
                self.supported = False
                if not told:
                    told = True
                    log.info(
                        "Asterisk does not answer ARI requests over the websocket (that needs "
                        "Asterisk 20.14, 21.9, 22.4 or later): using HTTP"
                    )
            except (RestConnectionLost, websockets.exceptions.ConnectionClosed):
                return
            else:
                # Any answer, whatever its status, shows the feature is there.
                self.supported = True
            self._checked.set()
            if self.supported:
                return
            await asyncio.sleep(REST_PROBE_INTERVAL)
