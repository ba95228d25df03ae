"""Uploads that must be refused with a clear error and change nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from support import free_port
from voicestatus.audio.wav import encode_wav
from web_support import SPEECH_WAV, Web, encode, speech, start_web, web_config

URL = "/api/v1/operators/101/messages/1"


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    async for running in start_web(web_config(tmp_path, free_port())):
        async with running.api() as client:
            assert (await client.put(URL, content=SPEECH_WAV)).status_code == 201
        yield running


async def state(web: Web) -> tuple[object, int]:
    current = await web.service.messages.current("101", 1)
    _entries, total = await web.service.audit.list()
    return current, total


def silence(seconds: float) -> bytes:
    return encode_wav(np.zeros(int(8000 * seconds), dtype=np.float32), 8000)


@pytest.mark.parametrize(
    ("name", "data", "error_id"),
    [
        ("text.wav", b"This is not audio at all, just text renamed to .wav\n" * 20, "audio-undecodable"),
        ("truncated.mp3", b"", "audio-undecodable"),
        ("empty.wav", b"", "audio-empty"),
        ("silence.wav", b"", "audio-too-long"),
        ("short-silence.wav", b"", "audio-silent"),
    ],
)
async def test_bad_upload_is_refused_and_changes_nothing(
    web: Web, name: str, data: bytes, error_id: str
) -> None:
    if name == "truncated.mp3":
        whole = encode(speech(), "mp3", "libmp3lame", 16000)
        data = whole[:200]
    elif name == "silence.wav":
        data = silence(600)  # ten minutes: longer than [media] max_upload_seconds
    elif name == "short-silence.wav":
        data = silence(5)
    before = await state(web)
    async with web.api() as client:
        raw = await client.put(URL, content=data)
        form = await client.put(URL, files={"file": (name, data, "audio/wav")})
    for answer in (raw, form):
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert body["error_id"] in (error_id, "audio-undecodable" if name == "truncated.mp3" else error_id)
        assert body["message"]
    if name == "truncated.mp3":
        assert raw.json()["error_id"] in (
            "audio-undecodable",
            "audio-empty",
            "audio-silent",
            "audio-too-short",
        )
    assert await state(web) == before


async def test_too_large_declared_is_refused_before_the_body(web: Web) -> None:
    before = await state(web)
    reader, writer = await asyncio.open_connection("127.0.0.1", web.service.config.http.port)
    head = (
        f"PUT {URL} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {web.token}\r\n"
        f"Content-Type: audio/wav\r\nContent-Length: {100 * 1024 * 1024}\r\n\r\n"
    )
    writer.write(head.encode())
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 10)
    assert status.startswith(b"HTTP/1.1 413"), status
    writer.close()
    assert await state(web) == before


async def test_too_large_streamed_is_refused_early(web: Web) -> None:
    """A 100 MB chunked upload is cut off soon after the limit, not read to the end."""
    before = await state(web)
    reader, writer = await asyncio.open_connection("127.0.0.1", web.service.config.http.port)
    writer.write(
        (
            f"PUT {URL} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {web.token}\r\n"
            "Content-Type: audio/wav\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()
    )
    chunk = b"\0" * 65536
    sent = 0

    async def send_100_mb() -> None:
        nonlocal sent
        with contextlib.suppress(ConnectionError):
            while sent < 100 * 1024 * 1024:
                writer.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                await writer.drain()
                sent += len(chunk)

    sender = asyncio.create_task(send_100_mb())
    status = await asyncio.wait_for(reader.readline(), 30)
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sender
    writer.close()
    assert status.startswith(b"HTTP/1.1 413"), status
    limit = web.service.config.media.max_upload_bytes
    assert sent < 100 * 1024 * 1024 // 2, f"{sent} bytes were accepted before the refusal"
    assert limit < 100 * 1024 * 1024
    assert await state(web) == before


async def test_multipart_without_file(web: Web) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="note"\r\n\r\nno file\r\n--xyz--\r\n'
    async with web.api() as client:
        answer = await client.put(
            URL, content=body, headers={"content-type": "multipart/form-data; boundary=xyz"}
        )
        assert answer.status_code == 400
        assert answer.json()["error_id"] == "invalid-input"
