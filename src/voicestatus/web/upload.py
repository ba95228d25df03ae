"""Reading an uploaded audio file without trusting its size.

The body is read chunk by chunk and refused with 413 as soon as it passes
``[media] max_upload_bytes`` (or at once, when ``Content-Length`` already says
so), so a 100 MB upload costs at most the limit in memory. The file may come
as the raw body (``curl --data-binary @msg.mp3``) or as the single file of a
``multipart/form-data`` form (browsers, ``curl -F file=@msg.mp3``).
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from voicestatus.errors import InvalidInput
from voicestatus.web.errors import UploadTooLarge

MULTIPART_OVERHEAD = 64 * 1024


def _too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(
        f"The file is larger than the limit of {limit // (1024 * 1024) or 1} MB.",
        details={"max_bytes": limit},
    )


async def read_upload(request: Request, limit: int) -> bytes:
    """The uploaded file's bytes; raises :class:`UploadTooLarge` or ``InvalidInput``."""
    content_type = request.headers.get("content-type", "")
    multipart = content_type.lower().startswith("multipart/form-data")
    body_limit = limit + MULTIPART_OVERHEAD if multipart else limit
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > body_limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > body_limit:
            raise _too_large(limit)
    if not multipart:
        return bytes(body)
    return await _file_from_form(request, bytes(body), limit)


async def _file_from_form(request: Request, body: bytes, limit: int) -> bytes:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=10)
    except Exception as exc:  # python-multipart raises several unrelated types
        raise InvalidInput(
            "The form upload could not be read.", details={"reason": type(exc).__name__}
        ) from None
    try:
        files = [v for v in form.values() if isinstance(v, UploadFile)]
        if not files:
            raise InvalidInput("The form has no file; send it in a field named 'file'.")
        data = await files[0].read(limit + 1)
        if len(data) > limit:
            raise _too_large(limit)
        return data
    finally:
        await form.close()
