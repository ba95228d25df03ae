"""Errors as the API answers them: ``{error_id, message, details}`` with a fitting status.

Every ``VoiceStatusError`` already knows its ``status_code`` and ``error_id``
(``unknown-operator`` 404, ``audio-silent`` 400, ``asterisk-ari-unreachable``
503 ...), so the handlers here only translate; framework errors (validation,
unknown routes) are given the same shape so a client parses one format.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from voicestatus.errors import VoiceStatusError

log = logging.getLogger(__name__)


class ErrorOut(BaseModel):
    error_id: str
    message: str
    details: dict[str, Any]


class Unauthorized(VoiceStatusError):
    """No valid session or bearer token."""

    error_id = "unauthorized"
    status_code = 401


class Forbidden(VoiceStatusError):
    """Authenticated, but not allowed to do this (e.g. another operator's data)."""

    error_id = "forbidden"
    status_code = 403


class CsrfFailed(VoiceStatusError):
    """A session-authenticated change came without the session's CSRF token."""

    error_id = "csrf-failed"
    status_code = 403


class TooManyAttempts(VoiceStatusError):
    """Too many failed logins from this address or for this account."""

    error_id = "too-many-attempts"
    status_code = 429


class UploadTooLarge(VoiceStatusError):
    """The request body is bigger than ``[media] max_upload_bytes``."""

    error_id = "upload-too-large"
    status_code = 413


class BodyTooLarge(VoiceStatusError):
    """A request body (other than an upload) is bigger than the small fixed cap."""

    error_id = "body-too-large"
    status_code = 413


class UnsupportedMediaType(VoiceStatusError):
    """The body is not of a type the endpoint reads (e.g. not UTF-8 JSON)."""

    error_id = "unsupported-media-type"
    status_code = 415


class NotFound(VoiceStatusError):
    """Something the request names does not exist (a message, a status)."""

    error_id = "not-found"
    status_code = 404


_STATUS_IDS = {400: "invalid-input", 401: "unauthorized", 403: "forbidden", 404: "not-found",
               405: "method-not-allowed", 413: "upload-too-large", 415: "unsupported-media-type"}  # fmt: skip

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "Invalid input (see error_id)"),
        (401, "Not authenticated"),
        (403, "Not allowed, or CSRF token missing"),
        (404, "Unknown operator, status or message"),
        (413, "Request body too large"),
        (429, "Too many failed logins"),
    )
}


def error_body(exc: VoiceStatusError) -> dict[str, Any]:
    return {"error_id": exc.error_id, "message": exc.message, "details": exc.details}


def install_error_handlers(app: FastAPI) -> None:
    async def on_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, VoiceStatusError)
        if exc.status_code >= 500:
            log.warning("request failed: %s (%s)", exc.error_id, exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else {}
        retry_after = exc.details.get("retry_after")
        if isinstance(retry_after, int | float) and not isinstance(retry_after, bool):
            # Any refusal that says when to come back says it in HTTP too (429, 503).
            headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return JSONResponse(error_body(exc), status_code=exc.status_code, headers=headers)

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        body = {
            "error_id": _STATUS_IDS.get(exc.status_code, "http-error"),
            "message": str(exc.detail),
            "details": {},
        }
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        body = {
            "error_id": "invalid-input",
            "message": "The request is not valid.",
            "details": {"errors": errors},
        }
        return JSONResponse(body, status_code=400)

    async def on_disconnect(_request: Request, _exc: Exception) -> Response:
        # The client left before sending the whole body (a Content-Length lie, a
        # dropped upload): not our error, and nobody is there to read an answer.
        log.info("client disconnected before sending the whole request body")
        return Response(status_code=400)

    app.add_exception_handler(ClientDisconnect, on_disconnect)
    app.add_exception_handler(VoiceStatusError, on_error)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
