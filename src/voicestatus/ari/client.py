"""ARI REST client over one persistent httpx connection pool.

Only the calls voicestatus needs are wrapped, each with typed results and
errors mapped onto our exception tree (``voicestatus.errors``). Credentials
travel in the Authorization header, never in URLs, so they do not end up in
Asterisk's or a proxy's access log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from voicestatus.ari.models import AsteriskInfo, Channel, LiveRecording, Playback
from voicestatus.errors import (
    AriAuthError,
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
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/ari",
            auth=httpx.BasicAuth(username, password),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
            ),
            headers={"Accept": "application/json"},
        )

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
        message = _error_message(response)
        details: dict[str, object] = {"method": method, "path": path, "status": response.status_code}
        if response.status_code in (401, 403):
            raise AriAuthError(
                "Asterisk refused the ARI credentials (check [ari] username/password against ari.conf)",
                details=details,
            )
        if response.status_code == 404:
            raise AriNotFound(message, http_status=404, details=details)
        raise AriRequestError(message, http_status=response.status_code, details=details)

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.request(method, path, **kw)
        return response.json() if response.content else None

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
        body = {"allowed": [{"type": t} for t in allowed], "disallowed": []}
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
        await self.request("POST", f"/channels/{channel_id}/answer")

    async def ring(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/ring")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self.request("DELETE", f"/channels/{channel_id}", params={"reason": reason})

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
        await self.request("POST", f"/channels/{channel_id}/continue", params=params)

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
        return Playback.model_validate(await self._json("POST", path, params=params))

    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"/playbacks/{playback_id}")

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
        await self.request("POST", f"/channels/{channel_id}/dtmf", params=params)

    async def get_variable(self, channel_id: str, variable: str) -> str | None:
        """A channel variable or dialplan function; None when it is not set."""
        try:
            data = await self._json("GET", f"/channels/{channel_id}/variable", params={"variable": variable})
        except AriNotFound as exc:
            if "variable" in exc.message.lower():
                return None
            raise
        value = data.get("value") if isinstance(data, dict) else None
        return str(value) if value is not None else None

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        params = {"variable": variable, "value": value}
        await self.request("POST", f"/channels/{channel_id}/variable", params=params)

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


def _error_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return f"Asterisk answered {response.status_code} {response.reason_phrase}"
