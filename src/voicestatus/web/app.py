"""The ASGI application: health, metrics, media, the UI and the API.

Thin by design: handlers validate input, call a service, and answer. Only
``/healthz``, ``/metrics`` (unless ``[http] metrics_public`` is false) and
``/media/<sha>`` answer without a login; the API schema and its docs need
one too, like everything else.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voicestatus import __version__
from voicestatus.metrics import Metrics
from voicestatus.storage.media import MediaStore
from voicestatus.web.auth import bearer_scheme
from voicestatus.web.context import HealthProbe, WebContext
from voicestatus.web.errors import install_error_handlers
from voicestatus.web.media import media_router

__all__ = ["HealthProbe", "WebContext", "create_web_app"]

STATIC_DIR = Path(__file__).with_name("static")

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class ObserveRequests:
    """Records request latency per route template and adds security headers to every answer."""

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
                route = getattr(scope.get("route"), "path", "unmatched")
                self.metrics.http_latency.labels(route=route, method=scope["method"]).observe(
                    time.perf_counter() - start
                )


def create_web_app(health: HealthProbe, *, media: MediaStore, ctx: WebContext | None = None) -> FastAPI:
    """The app; without ``ctx`` only health and media are served (media-only deployments, tests)."""
    app = FastAPI(
        title="voicestatus",
        version=__version__,
        description="Personal voice status messages for Asterisk and FreePBX operators.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(ObserveRequests, metrics=ctx.metrics if ctx else None)

    @app.get("/healthz", tags=["health"], include_in_schema=False)
    async def healthz() -> JSONResponse:
        report = health()
        status = 200 if report.get("ok") else 503
        return JSONResponse(report, status_code=status)

    app.include_router(media_router(media))
    if ctx is not None:
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
