"""ARI REST client over one persistent httpx connection pool.

Only the calls voicestatus needs are wrapped, each with typed results and
errors mapped onto our exception tree (``voicestatus.errors``). Credentials
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
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from voicestatus.ari.events import EventStream, RestConnectionLost, RestUnavailable
from voicestatus.ari.models import AsteriskInfo, Channel, LiveRecording, Playback
from voicestatus.errors import (
    AriAuthError,
    AriError,
    AriNotFound,
    AriRequestError,
    AriUnreachable,
)

log = logging.getLogger(__name__)

Params = Mapping[str, str | int | bool]


class AriClient:
    """Asynchronous client for Asterisk's REST Interface (``/ari``)."""

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

    async def __aenter__(self) -> AriClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one request; raise our errors for transport failures and non-2xx."""
        query = {k: _param(v) for k, v in (params or {}).items()}
        try:
            response = await self._http.request(method, path, params=query, json=json)
        except httpx.TimeoutException as exc:
            raise AriUnreachable(f"Asterisk ARI timed out on {method} {path}") from exc
        except httpx.TransportError as exc:
            raise AriUnreachable(f"Asterisk ARI at {self.base_url} is unreachable: {exc}") from exc
        if response.is_success:
            return response
        raise _error(method, path, response.status_code, _error_message(response))

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.request(method, path, **kw)
        return response.json() if response.content else None

    async def _call(
        self, method: str, path: str, params: Params | None = None, *, waits: bool = False
    ) -> Any:
        """A live call's request over a websocket if one is up, else HTTP; parsed JSON or None.

        ``waits``: Asterisk runs it in the channel's thread, so it must not use the events socket.
        """
        ws = self._pick(self._waiting_ws) if waits else self._pick((self._ws,) if self._ws else ())
        if ws is not None:
            query = {k: _param(v) for k, v in (params or {}).items()}
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
                raise _error(
                    method, path, reply.status, _body_message(reply.body, reply.status, reply.reason)
                )
        return await self._json(method, path, params=params)

    @staticmethod
    def _pick(streams: Sequence[EventStream]) -> EventStream | None:
        ready = [s for s in streams if s.rest_ready]
        return min(ready, key=lambda s: s.rest_in_flight) if ready else None

    # -- asterisk ---------------------------------------------------------------

    async def asterisk_info(self) -> AsteriskInfo:
        return AsteriskInfo.model_validate(await self._json("GET", "/asterisk/info"))

    async def get_global_variable(self, variable: str) -> str:
        data = await self._json("GET", "/asterisk/variable", params={"variable": variable})
        return str(data.get("value", ""))

    async def list_modules(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._json("GET", "/asterisk/modules")
        return result

    # -- applications -------------------------------------------------------------

    async def get_application(self, app: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._json("GET", f"/applications/{app}")
        return result

    async def set_event_filter(self, app: str, allowed: Sequence[str]) -> None:
        """Ask Asterisk to send this app only the listed event types."""
        types = list(allowed)
        if (self._ws is not None or self._waiting_ws) and "RESTResponse" not in types:
            types.append("RESTResponse")  # the answers to requests sent over the websocket
        body = {"allowed": [{"type": t} for t in types], "disallowed": []}
        await self.request("PUT", f"/applications/{app}/eventFilter", json=body)

    # -- channels -------------------------------------------------------------------

    async def originate(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: str | None = None,
        extension: str | None = None,
        context: str | None = None,
        priority: int | None = None,
        caller_id: str | None = None,
        timeout: int = 30,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        formats: str | None = None,
    ) -> Channel:
        params: dict[str, str | int | bool] = {"endpoint": endpoint, "timeout": timeout}
        optional = {
            "app": app,
            "appArgs": app_args,
            "extension": extension,
            "context": context,
            "priority": priority,
            "callerId": caller_id,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "formats": formats,
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        body = {"variables": dict(variables)} if variables else None
        return Channel.model_validate(await self._json("POST", "/channels", params=params, json=body))

    async def get_channel(self, channel_id: str) -> Channel:
        return Channel.model_validate(await self._json("GET", f"/channels/{channel_id}"))

    async def answer(self, channel_id: str) -> None:
        await self._call("POST", f"/channels/{channel_id}/answer", waits=True)

    async def ring(self, channel_id: str) -> None:
        await self._call("POST", f"/channels/{channel_id}/ring", waits=True)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self._call("DELETE", f"/channels/{channel_id}", params={"reason": reason})

    async def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        optional = {"context": context, "extension": extension, "priority": priority, "label": label}
        params = {k: v for k, v in optional.items() if v is not None}
        await self._call("POST", f"/channels/{channel_id}/continue", params=params)

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        *,
        lang: str | None = None,
        playback_id: str | None = None,
    ) -> Playback:
        items = [media] if isinstance(media, str) else list(media)
        params: dict[str, str | int | bool] = {"media": ",".join(items)}
        if lang:
            params["lang"] = lang
        path = f"/channels/{channel_id}/play"
        if playback_id:
            path += f"/{playback_id}"
        return Playback.model_validate(await self._call("POST", path, params=params))

    async def stop_playback(self, playback_id: str) -> None:
        await self._call("DELETE", f"/playbacks/{playback_id}")

    async def record(
        self,
        channel_id: str,
        name: str,
        *,
        fmt: str = "wav",
        max_duration: int = 0,
        max_silence: int = 0,
        beep: bool = False,
        terminate_on: str = "none",
        if_exists: str = "fail",
    ) -> LiveRecording:
        params: dict[str, str | int | bool] = {
            "name": name,
            "format": fmt,
            "maxDurationSeconds": max_duration,
            "maxSilenceSeconds": max_silence,
            "beep": beep,
            "terminateOn": terminate_on,
            "ifExists": if_exists,
        }
        data = await self._json("POST", f"/channels/{channel_id}/record", params=params)
        return LiveRecording.model_validate(data)

    async def send_dtmf(
        self, channel_id: str, dtmf: str, *, between_ms: int = 100, duration_ms: int = 100
    ) -> None:
        params: dict[str, str | int | bool] = {
            "dtmf": dtmf,
            "between": between_ms,
            "duration": duration_ms,
        }
        await self._call("POST", f"/channels/{channel_id}/dtmf", params=params, waits=True)

    async def snoop(
        self, channel_id: str, *, app: str, spy: str = "none", whisper: str = "none", snoop_id: str = ""
    ) -> Channel:
        """A new channel in ``app`` that hears (``spy``) or speaks into (``whisper``) a channel."""
        params = {"spy": spy, "whisper": whisper, "app": app} | ({"snoopId": snoop_id} if snoop_id else {})
        data = await self._json("POST", f"/channels/{channel_id}/snoop", params=params)
        return Channel.model_validate(data)

    async def get_variable(self, channel_id: str, variable: str) -> str | None:
        """A channel variable or dialplan function; None when it is not set."""
        try:
            data = await self._call("GET", f"/channels/{channel_id}/variable", params={"variable": variable})
        except AriNotFound as exc:
            if "variable" in exc.message.lower():
                return None
            raise
        value = data.get("value") if isinstance(data, dict) else None
        return str(value) if value is not None else None

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        params = {"variable": variable, "value": value}
        await self._call("POST", f"/channels/{channel_id}/variable", params=params, waits=True)

    # -- recordings ---------------------------------------------------------------

    async def stop_recording(self, name: str) -> None:
        await self.request("POST", f"/recordings/live/{name}/stop")

    async def cancel_recording(self, name: str) -> None:
        await self.request("DELETE", f"/recordings/live/{name}")

    async def get_stored_recording(self, name: str) -> bytes:
        response = await self.request("GET", f"/recordings/stored/{name}/file")
        return response.content

    async def delete_stored_recording(self, name: str) -> None:
        await self.request("DELETE", f"/recordings/stored/{name}")


def _param(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _error(method: str, path: str, status: int, message: str) -> AriError:
    details: dict[str, object] = {"method": method, "path": path, "status": status}
    if status in (401, 403):
        return AriAuthError(
            "Asterisk refused the ARI credentials (check [ari] username/password against ari.conf)",
            details=details,
        )
    if status == 404:
        return AriNotFound(message, http_status=404, details=details)
    return AriRequestError(message, http_status=status, details=details)


def _error_message(response: httpx.Response) -> str:
    return _body_message(response.text, response.status_code, response.reason_phrase)


def _body_message(body: str, status: int, reason: str) -> str:
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return f"Asterisk answered {status} {reason}"
