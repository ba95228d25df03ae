"""The ARI calls voicestatus makes, as typed methods.

Only the calls voicestatus needs are wrapped, each with typed results (models
from ``models.py``) so flows never read raw JSON. How each request travels,
over HTTP or a live call's websocket, and how failures become our exceptions
is the job of the ``AriTransport`` (``transport.py``) the client holds; a
method here only picks the route it may take: ``request``/``_json`` (always
HTTP), ``_call`` (a live call's request, over a websocket when one is up) or
``_call(..., waits=True)`` (one Asterisk runs in the channel's thread).

The client has a transport rather than being one, so its public surface is
the ARI resources plus the few lifecycle calls (``use_websocket``,
``aclose``); flows see even less of it, through
``voicestatus.flows.call_port.CallPort``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import httpx

from voicestatus.ari.events import EventStream
from voicestatus.ari.models import AsteriskInfo, Channel, LiveRecording, Playback
from voicestatus.ari.transport import AriTransport
from voicestatus.ari.wire import Params
from voicestatus.errors import AriNotFound


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
        """``transport`` replaces httpx's network layer (tests pass ``httpx.MockTransport``)."""
        self._transport = AriTransport(
            url, username, password, timeout=timeout, transport=transport, max_connections=max_connections
        )

    # -- lifecycle and routing (the transport's) -------------------------------------

    def use_websocket(self, stream: EventStream | None, *, waiting: Sequence[EventStream] = ()) -> None:
        """Send a live call's quick requests over ``stream``, the waiting ones over ``waiting``."""
        self._transport.use_websocket(stream, waiting=waiting)

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(
        self, method: str, path: str, *, params: Params | None = None, json: Any = None
    ) -> httpx.Response:
        """One request over HTTP; our errors for transport failures and non-2xx."""
        return await self._transport.request(method, path, params=params, json=json)

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        return await self._transport.request_json(method, path, **kw)

    async def _call(
        self, method: str, path: str, params: Params | None = None, *, waits: bool = False
    ) -> Any:
        return await self._transport.call(method, path, params, waits=waits)

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
        if self._transport.websocket_attached and "RESTResponse" not in types:
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

    async def answer(self, channel_id: str) -> None:
        await self._call("POST", f"/channels/{channel_id}/answer", waits=True)

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
