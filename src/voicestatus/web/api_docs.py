"""The interactive API documentation, served entirely by this service.

A PBX often has no route to the internet, and a documentation page that
pulls Swagger UI from a CDN shows nothing there. The assets (Swagger UI 5,
which reads FastAPI's OpenAPI 3.1) come from the ``fastapi-offline``
package's static directory, the start-up code is a static file rather
than an inline script, so the page runs under a CSP as strict as the rest
of the UI allows (Swagger UI sets inline styles and shows data: images).
"""

from __future__ import annotations

from html import escape
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from voicestatus.web.context import WebContext

DOCS_PATH = "/api/docs"
ASSETS_PATH = "/api/docs/assets"
OPENAPI_PATH = "/api/openapi.json"
ASSETS_DIR = files("fastapi_offline") / "static"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def docs_page(title: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)}</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-spec-url="{OPENAPI_PATH}"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def add_api_docs(app: FastAPI, ctx: WebContext) -> None:
    """``/api/docs`` for logged-in users, with its assets under ``/api/docs/assets``."""
    app.mount(ASSETS_PATH, StaticFiles(directory=str(ASSETS_DIR)), name="api-docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs(request: Request) -> Response:
        if await ctx.auth.optional(request) is None:
            return RedirectResponse(f"/login?next={DOCS_PATH}", status_code=303)
        response = HTMLResponse(docs_page(f"{app.title} API"))
        response.headers["Content-Security-Policy"] = DOCS_CSP
        return response
