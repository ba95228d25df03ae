"""``GET /media/<sha256>.wav|.wav16``: messages as Asterisk fetches them.

Content-addressed, so a URL's bytes never change: Asterisk's
res_http_media_cache and any proxy may cache them for a year, and a new
message is simply a new URL. The path is validated before it touches the
filesystem; nothing else is reachable here.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from voicestatus.storage.media import SHA256_PATTERN, MediaStore

_NAME = re.compile(rf"(?P<sha>{SHA256_PATTERN})\.(?P<fmt>wav|wav16)")
CACHE_FOREVER = "public, max-age=31536000, immutable"
# res_http_media_cache picks the file format from Content-Type before the URL's
# extension; "audio/wav" means 8 kHz "wav" to Asterisk, which then refuses a
# 16 kHz file ("Unexpected frequency mismatch"). A type Asterisk does not map
# makes it use the ".wav16" extension, i.e. its 16 kHz wav16 format.
MEDIA_TYPES = {"wav": "audio/wav", "wav16": "audio/x-wav16"}


def media_url(sha256: str, *, base: str = "", wideband: bool = False) -> str:
    """Where this router serves a stored message: ``<base>/media/<sha256>.wav`` (or ``.wav16``).

    The one place the address is built, for the browser (no ``base``: a path
    on this server), for Asterisk (``base`` is ``[http] public_url``) and for
    the doctor's probe, so none of them can drift from the route below.
    """
    return f"{base.rstrip('/')}/media/{sha256}.{'wav16' if wideband else 'wav'}"


def media_router(store: MediaStore) -> APIRouter:
    router = APIRouter()

    @router.api_route("/media/{name}", methods=["GET", "HEAD"], include_in_schema=False)
    async def media(name: str, request: Request) -> Response:
        match = _NAME.fullmatch(name)
        if match is None:
            raise HTTPException(status_code=404, detail="no such media")
        sha, fmt = match["sha"], match["fmt"]
        path = store.path(sha, "wav16" if fmt == "wav16" else "wav")
        if not path.is_file():
            raise HTTPException(status_code=404, detail="no such media")
        etag = f'"{sha}-{fmt}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE_FOREVER})
        return FileResponse(
            path,
            media_type=MEDIA_TYPES[fmt],
            headers={"ETag": etag, "Cache-Control": CACHE_FOREVER},
        )

    return router
