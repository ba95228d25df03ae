"""The ASGI application: health, metrics, media, the UI and the API.

Thin by design: handlers validate input, call a service, and answer. Only
``/healthz``, ``/metrics`` (unless ``[http] metrics_public`` is false) and
``/media/<sha>`` answer without a login; the API schema and its docs need
one too, like everything else.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voicestatus import __version__
from voicestatus.errors import VoiceStatusError
from voicestatus.metrics import Metrics
from voicestatus.storage.media import MediaStore
from voicestatus.web.auth import bearer_scheme
from voicestatus.web.context import HealthProbe, WebContext
from voicestatus.web.errors import BodyTooLarge, UploadTooLarge, error_body, install_error_handlers
from voicestatus.web.media import media_router
from voicestatus.web.upload import MULTIPART_OVERHEAD

__all__ = ["HealthProbe", "WebContext", "create_web_app"]

STATIC_DIR = Path(__file__).with_name("static")

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BODY_LIMIT = 64 * 1024
"""The cap on every request body but uploads: JSON and forms here are a few hundred bytes."""
LOGIN_BODY_LIMIT = 16 * 1024  # a 1024-character password, percent-encoded, fits
_UPLOAD_PATH = re.compile(r"/api/v1/operators/[^/]+/messages/[^/]+")


class ObserveRequests:
    """Records request latency per route template and adds security headers to every answer.

    The labels are bounded whatever the client sends: the route is the
    matched route's template (or ``unmatched``), the method one of the known
    methods (or ``other``), so random paths or methods cannot grow ``/metrics``.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if self.metrics is not None:
                route = getattr(scope.get("route"), "path", None)
                method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
                self.metrics.http_latency.labels(
                    route=route if isinstance(route, str) else "unmatched", method=method
                ).observe(time.perf_counter() - start)


class LimitBodies:
    """Refuses oversized request bodies with 413 before anything reads them whole.

    Every body is capped before routing, parsing or authentication: uploads at
    ``[media] max_upload_bytes`` (plus room for the multipart envelope; the
    upload reader applies the exact limit), login forms at
    ``LOGIN_BODY_LIMIT``, everything else at ``BODY_LIMIT``. A
    ``Content-Length`` over the cap is refused without reading a byte; a
    body that grows past it while streaming is refused as soon as it does,
    and the app then sees the client as gone. The server never holds more than
    the cap of anyone's body: the rest is discarded as it arrives (uvicorn
    does that for a finished response), so a client still writing its body
    reads the 413 instead of a reset connection.
    """

    def __init__(self, app: ASGIApp, upload_limit: int) -> None:
        self.app = app
        self.max_upload = upload_limit
        self.upload_limit = upload_limit + MULTIPART_OVERHEAD

    def limit_for(self, method: str, path: str) -> int:
        if method == "PUT" and _UPLOAD_PATH.fullmatch(path):
            return self.upload_limit
        if path.startswith("/login"):
            return LOGIN_BODY_LIMIT
        return BODY_LIMIT

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await self._refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # our 413 went out; the app's late answer has nowhere to go
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, send: Send, limit: int) -> None:
        error: VoiceStatusError
        if limit == self.upload_limit:
            error = UploadTooLarge(
                f"The file is larger than the limit of {self.max_upload // (1024 * 1024) or 1} MB.",
                details={"max_bytes": self.max_upload},
            )
        else:
            error = BodyTooLarge(
                f"The request body is larger than {limit} bytes.", details={"max_bytes": limit}
            )
        response = JSONResponse(error_body(error), status_code=413)
        await response({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def create_web_app(health: HealthProbe, *, media: MediaStore, ctx: WebContext) -> FastAPI:
    """The whole app: health and media (which answer without a login), then the UI and API."""
    app = FastAPI(
        title="voicestatus",
        version=__version__,
        description="Personal voice status messages for Asterisk and FreePBX operators.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(LimitBodies, upload_limit=ctx.config.media.max_upload_bytes)
    app.add_middleware(ObserveRequests, metrics=ctx.metrics)

    @app.get("/healthz", tags=["health"], include_in_schema=False)
    async def healthz() -> JSONResponse:
        report = health()
        status = 200 if report.get("ok") else 503
        return JSONResponse(report, status_code=status)

    app.include_router(media_router(media))
    _add_authenticated_parts(app, ctx)
    return app


def _add_authenticated_parts(app: FastAPI, ctx: WebContext) -> None:
    from voicestatus.web.api import api_router
    from voicestatus.web.api_docs import add_api_docs
    from voicestatus.web.api_messages import messages_router
    from voicestatus.web.pages import pages_router

    app.state.web = ctx
    app.include_router(api_router(ctx))
    app.include_router(messages_router(ctx))
    app.include_router(pages_router(ctx))
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    async def any_user(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> None:
        await ctx.auth.api(request, credentials)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        if not ctx.config.http.metrics_public:
            header = request.headers.get("authorization", "")
            token = header[7:] if header.lower().startswith("bearer ") else None
            creds = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token) if token else None
            await ctx.auth.api(request, creds)
        return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/api/openapi.json", include_in_schema=False, dependencies=[Depends(any_user)])
    async def openapi() -> dict[str, Any]:
        return app.openapi()

    add_api_docs(app, ctx)
