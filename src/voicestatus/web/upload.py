"""Reading an uploaded audio file without trusting its size, and taking turns to decode it.

The body is read chunk by chunk and refused with 413 as soon as it passes
``[media] max_upload_bytes`` (or at once, when ``Content-Length`` already says
so), so a 100 MB upload costs at most the limit in memory. The file may come
as the raw body (``curl --data-binary @msg.mp3``) or as the single file of a
``multipart/form-data`` form (browsers, ``curl -F file=@msg.mp3``).

Decoding and processing a file takes a CPU core and tens of megabytes for up
to a second or two, so :class:`DecodeSlots` lets only a few run at once
(``[media] max_concurrent_decodes``): a burst of uploads cannot starve the
calls the service answers, nor add up in memory. An upload arriving while
all slots are busy waits its turn, as a person uploading expects; only when
``[media] decode_queue`` uploads are already waiting, or the wait passes
``WAIT_SECONDS``, is it refused with 503 ``uploads-busy`` (details say when
to retry), and nothing changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from python_multipart.multipart import parse_options_header
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from voicestatus.errors import InvalidInput, VoiceStatusError
from voicestatus.web.errors import UploadTooLarge

MULTIPART_OVERHEAD = 64 * 1024
WAIT_SECONDS = 30.0
RETRY_AFTER_SECONDS = 5
T = TypeVar("T")


class UploadsBusy(VoiceStatusError):
    """Every decoding slot is taken and the queue of waiting uploads is full (or moved too slowly)."""

    error_id = "uploads-busy"
    status_code = 503


class DecodeSlots:
    """At most ``concurrent`` uploads decoded at once; up to ``queue`` more wait at most ``wait_seconds``.

    A slot is held until the work is done, even if the request that started
    it is cancelled (the client hung up): the decoding thread cannot be
    stopped, so releasing early would let more than ``concurrent`` run.
    """

    def __init__(self, concurrent: int, queue: int, wait_seconds: float = WAIT_SECONDS) -> None:
        if concurrent < 1 or queue < 0:
            raise ValueError("concurrent must be at least 1 and queue not negative")
        self.concurrent = concurrent
        self.queue = queue
        self.wait_seconds = wait_seconds
        self._free = asyncio.Semaphore(concurrent)
        self._waiting = 0
        self.running = 0

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """``await work()`` in a slot; :class:`UploadsBusy` if none frees up in time."""
        if self._free.locked() and self._waiting >= self.queue:
            raise self._busy()
        self._waiting += 1
        try:
            async with asyncio.timeout(self.wait_seconds):
                await self._free.acquire()
        except TimeoutError:
            raise self._busy() from None
        finally:
            self._waiting -= 1
        self.running += 1
        task = asyncio.ensure_future(work())
        task.add_done_callback(self._done)
        return await asyncio.shield(task)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self.running -= 1
        self._free.release()
        if not task.cancelled():
            task.exception()  # retrieved here when the request that waited for it is gone

    def _busy(self) -> UploadsBusy:
        return UploadsBusy(
            f"The service is busy processing other uploads ({self.concurrent} at a time, "
            f"{self.queue} waiting). Try again in a few seconds.",
            details={"retry_after": RETRY_AFTER_SECONDS, "max_concurrent": self.concurrent},
        )


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


def _terminated(content_type: str, body: bytes) -> bool:
    """Whether the form ends with its closing boundary.

    Starlette leaves the file of an unterminated last part unclosed (it is in
    no field, so ``form.close()`` never sees it): such a form is refused first.
    """
    _type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary", b"")
    return bool(boundary) and body.rstrip(b"\r\n").endswith(b"--" + boundary + b"--")


async def _file_from_form(request: Request, body: bytes, limit: int) -> bytes:
    if not _terminated(request.headers.get("content-type", ""), body):
        raise InvalidInput("The form upload is incomplete (no closing boundary).")
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
