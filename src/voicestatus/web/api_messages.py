"""``/api/v1/operators/{ext}/messages/{status}``: upload, fetch, delete and restore messages.

An upload goes through exactly the path a phone recording takes
(``process_upload`` then ``publish``): decoded from any common format,
trimmed, loudness-normalised, stored content-addressed, audited. Anything
that is not usable audio is refused with its own ``error_id`` and changes
nothing. ``{status}`` is the status digit or its key from ``[statuses]``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse

from voicestatus.web.api import Auth, Extension, load_operator
from voicestatus.web.context import WebContext
from voicestatus.web.errors import ERROR_RESPONSES, ErrorOut, NotFound
from voicestatus.web.schemas import MessageOut, message_out, resolve_status
from voicestatus.web.upload import DecodeSlots, read_upload

log = logging.getLogger(__name__)

StatusPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="Status digit (1..9) or key, e.g. 1 or away")
]
AUDIO_TYPES = ["audio/wav", "audio/mpeg", "audio/ogg", "audio/webm", "audio/mp4", "application/octet-stream"]
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The audio file as the raw body, or as the field `file` of a multipart form.",
        "content": {
            **{t: {"schema": {"type": "string", "format": "binary"}} for t in AUDIO_TYPES},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


class NoMessage(NotFound):
    """The operator has no (current or previous) message for this status."""

    error_id = "no-message"


def messages_router(ctx: WebContext) -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["messages"])
    cfg = ctx.config
    slots = DecodeSlots(cfg.media.max_concurrent_decodes, cfg.media.decode_queue)

    @router.put(
        "/operators/{ext}/messages/{status}",
        status_code=201,
        openapi_extra=_UPLOAD_BODY,
        responses={
            413: {"model": ErrorOut, "description": "Upload larger than [media] max_upload_bytes"},
            503: {"model": ErrorOut, "description": "uploads-busy: too many uploads being decoded; retry"},
        },
    )
    async def upload(who: Auth, ext: Extension, status: StatusPath, request: Request) -> MessageOut:
        """Upload a new message (wav, mp3, ogg/opus, webm, m4a); it goes live at once."""
        await load_operator(ctx, who, ext)
        digit = resolve_status(cfg, status).digit
        data = await read_upload(request, cfg.media.max_upload_bytes)
        audio = await slots.run(lambda: ctx.messages.process_upload(data))
        view = await ctx.messages.publish(ext, digit, audio, actor=who.actor)
        log.info("message for %s status %d uploaded by %r", ext, digit, str(who.actor))
        return await message_out(cfg, ctx.messages, view)

    @router.get(
        "/operators/{ext}/messages/{status}",
        response_class=FileResponse,
        responses={200: {"content": {"audio/wav": {}}, "description": "The processed message as WAV"}},
    )
    async def download(
        who: Auth,
        ext: Extension,
        status: StatusPath,
        format: Annotated[Literal["wav", "wav16"], Query(description="8 kHz (wav) or 16 kHz")] = "wav",
    ) -> Response:
        """The current message's audio (processed, as callers hear it)."""
        await load_operator(ctx, who, ext)
        digit = resolve_status(cfg, status).digit
        view = await ctx.messages.current(ext, digit)
        if view is None:
            raise NoMessage(f"Operator {ext} has no message for status {digit}.")
        path = ctx.media.path(view.sha256, format)
        if not path.is_file():
            raise NoMessage("The message's audio is missing from the media store.")
        return FileResponse(path, media_type="audio/wav", filename=f"{ext}-{digit}.wav")

    @router.delete("/operators/{ext}/messages/{status}", status_code=204)
    async def delete(who: Auth, ext: Extension, status: StatusPath) -> Response:
        """Delete the current message; it stays in history for restore until retention purges it."""
        await load_operator(ctx, who, ext)
        digit = resolve_status(cfg, status).digit
        if not await ctx.messages.delete(ext, digit, actor=who.actor):
            raise NoMessage(f"Operator {ext} has no message for status {digit}.")
        return Response(status_code=204)

    @router.post("/operators/{ext}/messages/{status}/restore")
    async def restore(who: Auth, ext: Extension, status: StatusPath) -> MessageOut:
        """Undo: bring back the previous message (the one deleted or replaced last)."""
        await load_operator(ctx, who, ext)
        digit = resolve_status(cfg, status).digit
        view = await ctx.messages.restore(ext, digit, actor=who.actor)
        if view is None:
            raise NoMessage(f"Operator {ext} has no earlier message for status {digit} to restore.")
        return await message_out(cfg, ctx.messages, view)

    return router
