"""The ASGI application: health, metrics, media and (later) the UI and API.

Thin by design: handlers validate input, call a service, and answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from voicestatus import __version__
from voicestatus.storage.media import MediaStore
from voicestatus.web.media import media_router

HealthProbe = Callable[[], dict[str, Any]]


def create_web_app(health: HealthProbe, *, media: MediaStore) -> FastAPI:
    app = FastAPI(
        title="voicestatus",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )

    @app.get("/healthz", tags=["health"])
    async def healthz() -> JSONResponse:
        report = health()
        status = 200 if report.get("ok") else 503
        return JSONResponse(report, status_code=status)

    app.include_router(media_router(media))
    return app
