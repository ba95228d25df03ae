"""How an ARI request reaches Asterisk: one httpx pool, or a websocket on a live call.

``AriClient`` (``client.py``) names the resources and holds one
``AriTransport``; this module decides the route, so every resource method
gets the same routing, fallback and error mapping (``wire.py``). Credentials
travel in the Authorization header, never in URLs, so they do not end up in
Asterisk's or a proxy's access log.

The requests a live call makes go over websockets when they are attached
(``use_websocket``) and connected: an httpx request costs about 0.6 ms of
CPU, a websocket message a tenth of that. Asterisk handles one websocket's
requests one after another, and it runs some (answer, set a variable, DTMF,
ring) in the channel's own thread while the socket waits; under load one such
request took long enough to hold up every other call's play and hang-up.
So those go over a few separate websockets (``waiting``), the least busy
first, and the quick ones over the events socket. Everything else, and every
request while no socket is up, uses HTTP.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import httpx

from voicestatus.ari.events import EventStream
from voicestatus.ari.wire import Params, ari_error, body_message, encode_param
from voicestatus.ari.ws_rest import RestConnectionLost, RestUnavailable
from voicestatus.errors import AriUnreachable


class AriTransport:
    """Sends ARI requests over HTTP, or over an attached websocket when one is up."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 32,
    ) -> None:
        self.base_url = url.rstrip("/")
        self._timeout = timeout
        self._ws: EventStream | None = None
        self._waiting_ws: tuple[EventStream, ...] = ()
        # Per-request cost matters on the caller path: the Authorization header
        # is computed once (httpx's auth flow re-encodes it on every request)
        # and no proxy/netrc environment is consulted.
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/ari",
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
            ),
            headers={"Accept": "application/json", "Authorization": f"Basic {token}"},
            trust_env=False,
        )

    def use_websocket(self, stream: EventStream | None, *, waiting: Sequence[EventStream] = ()) -> None:
        """Send a live call's quick requests over ``stream``, the waiting ones over ``waiting``."""
        self._ws = stream
        self._waiting_ws = tuple(waiting)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one request; raise our errors for transport failures and non-2xx."""
        query = {k: encode_param(v) for k, v in (params or {}).items()}
        try:
            response = await self._http.request(method, path, params=query, json=json)
        except httpx.TimeoutException as exc:
            raise AriUnreachable(f"Asterisk ARI timed out on {method} {path}") from exc
        except httpx.TransportError as exc:
            raise AriUnreachable(f"Asterisk ARI at {self.base_url} is unreachable: {exc}") from exc
        if response.is_success:
            return response
        message = body_message(response.text, response.status_code, response.reason_phrase)
        raise ari_error(method, path, response.status_code, message)

    async def request_json(self, method: str, path: str, **kw: Any) -> Any:
        """``request`` over HTTP, its body parsed as JSON (None when empty)."""
        response = await self.request(method, path, **kw)
        return response.json() if response.content else None

    async def call(self, method: str, path: str, params: Params | None = None, *, waits: bool = False) -> Any:
        """A live call's request over a websocket if one is up, else HTTP; parsed JSON or None.

        ``waits``: Asterisk runs it in the channel's thread, so it must not use the events socket.
        """
        ws = self._pick(self._waiting_ws) if waits else self._pick((self._ws,) if self._ws else ())
        if ws is not None:
            query = {k: encode_param(v) for k, v in (params or {}).items()}
            try:
                reply = await ws.rest(method, path.lstrip("/"), query, timeout=self._timeout)
            except RestUnavailable:
                pass
            except RestConnectionLost as exc:
                raise AriUnreachable(f"the ARI connection closed during {method} {path}") from exc
            except TimeoutError as exc:
                raise AriUnreachable(f"Asterisk ARI timed out on {method} {path}") from exc
            else:
                if 200 <= reply.status < 300:
                    return json.loads(reply.body) if reply.body else None
                raise ari_error(
                    method, path, reply.status, body_message(reply.body, reply.status, reply.reason)
                )
        return await self.request_json(method, path, params=params)

    @staticmethod
    def _pick(streams: Sequence[EventStream]) -> EventStream | None:
        ready = [s for s in streams if s.rest_ready]
        return min(ready, key=lambda s: s.rest_in_flight) if ready else None

    @property
    def websocket_attached(self) -> bool:
        """Whether any request may be answered over a websocket (see ``use_websocket``)."""
        return self._ws is not None or bool(self._waiting_ws)
