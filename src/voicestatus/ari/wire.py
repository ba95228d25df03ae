"""How ARI requests and answers look on the wire, whichever way they travel.

A request goes over HTTP or, on a live call, over a websocket
(``transport.py``). Both must encode query parameters the same way and turn
the same failure into the same exception from ``voicestatus.errors``, or a
caller would see different errors depending on which socket happened to be
up; so the encoding and the error mapping live here, once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from voicestatus.errors import AriAuthError, AriError, AriNotFound, AriRequestError

Params = Mapping[str, str | int | bool]


def encode_param(value: str | int | bool) -> str:
    """A query parameter as ARI reads it (booleans are ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ari_error(method: str, path: str, status: int, message: str) -> AriError:
    """The exception for a non-2xx answer to ``method path``."""
    details: dict[str, object] = {"method": method, "path": path, "status": status}
    if status in (401, 403):
        return AriAuthError(
            "Asterisk refused the ARI credentials (check [ari] username/password against ari.conf)",
            details=details,
        )
    if status == 404:
        return AriNotFound(message, http_status=404, details=details)
    return AriRequestError(message, http_status=status, details=details)


def body_message(body: str, status: int, reason: str) -> str:
    """Asterisk's own explanation from an error body, else the status line."""
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return f"Asterisk answered {status} {reason}"
