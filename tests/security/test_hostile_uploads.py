"""Hostile uploads: truncated and corrupt audio, wrong types, odd headers, bombs, multipart tricks.

``PUT /api/v1/operators/{ext}/messages/{status}`` takes attacker-made files.
Each must be refused with 400 (an ``audio-*`` or ``invalid-input`` error), 413
or 415, and a refused upload changes nothing: no row, no audit entry, no file
anywhere under the service's root (the media store and the system temp
directory are inside it). A decompression bomb (a few KB of FLAC that decode
to hundreds of MB) must cost bounded memory.
"""

from __future__ import annotations

import asyncio
import io
import math
import struct
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from hypothesis import strategies as st

from hostile_support import (
    HostileWeb,
    generate,
    memory_kb,
    peak_rss_reset,
    report,
    tally,
)
from web_support import SPEECH_WAV, encode, speech

UPLOAD = "/api/v1/operators/101/messages/1"
REFUSED = {400, 413, 415}


def wav_header(
    *,
    fmt: int = 1,
    channels: int = 1,
    rate: int = 8000,
    bits: int = 16,
    fmt_size: int = 16,
    data_size: int | None = None,
    riff_size: int | None = None,
    data: bytes = b"\x00\x01" * 400,
) -> bytes:
    """A WAV file with every header field chosen by the test."""
    block = max(1, channels * bits // 8) & 0xFFFF
    fmt_chunk = struct.pack(
        "<HHIIHH",
        fmt & 0xFFFF,
        channels & 0xFFFF,
        rate & 0xFFFFFFFF,
        (rate * block) & 0xFFFFFFFF,
        block,
        bits & 0xFFFF,
    )
    fmt_chunk = (
        fmt_chunk.ljust(min(fmt_size, 64), b"\x00")[: min(fmt_size, 64)] if fmt_size >= 16 else fmt_chunk
    )
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", fmt_size & 0xFFFFFFFF) + fmt_chunk
    body += b"data" + struct.pack("<I", size & 0xFFFFFFFF) + data
    riff = len(body) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", riff & 0xFFFFFFFF) + body


def odd_wavs() -> Iterator[tuple[str, bytes]]:
    floats = np.array([math.nan, math.inf, -math.inf, 1e38] * 4000, dtype="<f4").tobytes()
    yield "float WAV of NaN/inf", wav_header(fmt=3, bits=32, data=floats)
    yield "float64 WAV of NaN", wav_header(fmt=3, bits=64, data=np.full(8000, math.nan, "<f8").tobytes())
    for channels in (0, 3, 255, 65535):
        yield f"{channels} channels", wav_header(channels=channels)
    for rate in (0, 1, 999, 384_001, 4_000_000_000):
        yield f"rate {rate}", wav_header(rate=rate)
    for bits in (0, 1, 7, 12, 64, 65535):
        yield f"{bits} bits", wav_header(bits=bits)
    for fmt in (0, 2, 0x55, 0xFFFE, 0x1234):
        yield f"format tag {fmt:#x}", wav_header(fmt=fmt)
    yield "data size 4 GB, 800 bytes sent", wav_header(data_size=0xFFFFFFFF)
    yield "data size 0", wav_header(data_size=0)
    yield "RIFF size 0", wav_header(riff_size=0)
    yield "RIFF size 4 GB", wav_header(riff_size=0xFFFFFFFF)
    yield "fmt chunk 4 GB", wav_header(fmt_size=0xFFFFFFFF)
    yield "fmt chunk 2 bytes", wav_header(fmt_size=2)
    yield "no data chunk", SPEECH_WAV[:36]
    yield "header only", SPEECH_WAV[:44]
    yield "1000 empty chunks", SPEECH_WAV[:12] + b"junk\x00\x00\x00\x00" * 1000 + SPEECH_WAV[12:200]
    yield "0.1 s of speech", wav_header(data=SPEECH_WAV[44 : 44 + 1600])
    yield "silence 3 s", wav_header(data=b"\x00\x00" * 24000)


def truncated(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    for cut in (1, 2, 3, 4, 8, 12, 16, 36, 44, 45, 64, 100, 160):
        yield f"{name} cut at {cut} bytes", data[:cut]


WRONG_TYPES: list[tuple[str, bytes]] = [
    ("PNG", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
    ("PDF", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" * 10),
    ("ZIP", b"PK\x03\x04" + b"\x00" * 300),
    ("gzip", b"\x1f\x8b\x08\x00" + b"\x00" * 300),
    ("ELF", b"\x7fELF\x02\x01\x01" + b"\x00" * 300),
    ("HTML", b"<!doctype html><script>alert(1)</script>" * 10),
    ("JSON", b'{"file": "x"}'),
    ("M3U playlist of a local file", b"#EXTM3U\n#EXTINF:1,x\nfile:///etc/passwd\n"),
    ("HLS playlist", b"#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:1,\nhttp://127.0.0.1:9/x.ts\n"),
    ("ffconcat", b"ffconcat version 1.0\nfile '/etc/passwd'\n"),
    ("SDP", b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 9 RTP/AVP 0\n"),
    ("text", b"hello, this is not audio\n" * 50),
    ("MIDI", b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk\x00\x00\x00\x04\x00\xff\x2f\x00"),
    ("AVI header", b"RIFF\x00\x01\x00\x00AVI LIST" + b"\x00" * 200),
    ("ID3 only", b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 200),
    ("OggS only", b"OggS\x00\x02" + b"\x00" * 200),
    ("EBML only", b"\x1a\x45\xdf\xa3" + b"\x00" * 200),
    ("ftyp only", b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom" + b"\x00" * 200),
    ("fLaC only", b"fLaC" + b"\x00" * 200),
    ("all 0xFF", b"\xff" * 5000),
    ("all zero", b"\x00" * 5000),
]


def flac_bomb(seconds: int = 30, rate: int = 384_000) -> bytes:
    """8 channels of silence at 384 kHz: about 60 KB that decode to 92 million samples."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout="7.1")
        assert isinstance(stream, av.audio.stream.AudioStream)
        stream.codec_context.options = {"compression_level": "0"}
        second = np.zeros((1, rate * 8), dtype=np.int16)
        for _ in range(seconds):
            frame = av.AudioFrame.from_ndarray(second, format="s16", layout="7.1")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def problem(answer: httpx.Response, what: str) -> str | None:
    if answer.status_code not in REFUSED:
        return f"{what}: {answer.status_code} {answer.text[:160]!r}"
    try:
        error_id = answer.json()["error_id"]
    except (ValueError, KeyError, TypeError):
        return f"{what}: {answer.status_code} without an error_id: {answer.text[:100]!r}"
    if answer.status_code == 400 and not (error_id.startswith("audio-") or error_id == "invalid-input"):
        return f"{what}: 400 with error_id {error_id!r}"
    return None


async def test_corrupt_and_wrong_files_are_refused_and_change_nothing(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """Truncated wav/mp3/ogg/webm/flac, odd WAV headers, other file types, random bytes."""
    pcm = speech()
    bases = {
        "wav": SPEECH_WAV,
        "mp3": encode(pcm, "mp3", "mp3"),
        "ogg": encode(pcm, "ogg", "libopus", 48000),
        "webm": encode(pcm, "webm", "libopus", 48000),
        "flac": encode(pcm, "flac", "flac"),
    }
    cases = [case for name, data in bases.items() for case in truncated(name, data)]
    cases += list(odd_wavs()) + WRONG_TYPES
    cases += [(f"random {len(b)} bytes", b) for b in generate(st.binary(min_size=1, max_size=3000), 40)]
    cases += [
        (f"RIFF/WAVE + random {len(b)}", b"RIFF\x00\x10\x00\x00WAVEfmt " + b)
        for b in generate(st.binary(min_size=1, max_size=400), 15)
    ]
    failures: list[str] = []
    async with hostile_web.web.api() as api:
        before = hostile_web.state()
        for what, body in cases:
            answer = await api.put(UPLOAD, content=body, headers={"Content-Type": "application/octet-stream"})
            if found := problem(answer, what):
                failures.append(found)
        failures += hostile_web.changes(before)
    tally("uploads", len(cases))
    report(failures, caplog)


async def test_content_types_and_multipart_tricks(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """Form uploads without a file, two files, broken boundaries, a body that lies about its type."""
    wav = SPEECH_WAV
    part = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        b"Content-Type: audio/wav\r\n\r\n"
    )
    cases: list[tuple[str, str, bytes]] = [
        ("multipart without boundary", "multipart/form-data", wav),
        ("multipart, raw wav body", "multipart/form-data; boundary=b", wav),
        (
            "multipart, no file field",
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\n',
        ),
        ("multipart, empty file", "multipart/form-data; boundary=b", part + b"\r\n--b--\r\n"),
        (
            "multipart, two files",
            "multipart/form-data; boundary=b",
            part + wav + b"\r\n" + part + wav + b"\r\n--b--\r\n",
        ),
        ("multipart, unterminated", "multipart/form-data; boundary=b", part + wav[:100]),
        ("multipart, wrong boundary", "multipart/form-data; boundary=zz", part + wav + b"\r\n--b--\r\n"),
        (
            "multipart, boundary 2000 chars",
            "multipart/form-data; boundary=" + "b" * 2000,
            part + wav + b"\r\n--b--\r\n",
        ),
        (
            "multipart, 5000 fields",
            "multipart/form-data; boundary=b",
            b"".join(
                b'--b\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n1\r\n' % i for i in range(5000)
            )
            + b"--b--\r\n",
        ),
        (
            "multipart, header 100 kB",
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="'
            + b"a" * 100_000
            + b'"\r\n\r\nx\r\n--b--\r\n',
        ),
        (
            "multipart, nested",
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="file"\r\n'
            b"Content-Type: multipart/mixed; boundary=c\r\n\r\n"
            b"--c\r\n\r\nx\r\n--c--\r\n--b--\r\n",
        ),
        (
            "multipart, random file",
            "multipart/form-data; boundary=b",
            part + b"\x00\xff" * 500 + b"\r\n--b--\r\n",
        ),
        ("urlencoded garbage", "application/x-www-form-urlencoded", b"file=%zz%ff&" * 100),
        ("JSON declared, random body", "application/json", b"\x00\xff" * 100),
        ("image/png declared, random body", "image/png", b"\x89PNG" + b"\x00" * 100),
        ("text/html declared, HTML body", "text/html", b"<script>alert(1)</script>"),
        ("no Content-Type, random body", "", b"\x13\x37" * 300),
        ("Content-Type 10 kB", "audio/wav; x=" + "y" * 10_000, b"\x00" * 100),
        ("Content-Type with CR", "audio/wav\rx", b"\x00" * 100),
        ("empty body", "audio/wav", b""),
    ]
    failures: list[str] = []
    async with hostile_web.web.api() as api:
        before = hostile_web.state()
        for what, content_type, body in cases:
            headers = {"Content-Type": content_type} if content_type else {}
            try:
                answer = await api.put(UPLOAD, content=body, headers=headers)
            except httpx.LocalProtocolError:
                continue  # a header httpx itself refuses to send (CR): nothing reached the server
            if found := problem(answer, what):
                failures.append(found)
        failures += hostile_web.changes(before)
    tally("uploads", len(cases))
    report(failures, caplog)


async def test_oversized_bodies_are_refused_while_streaming(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """Past ``max_upload_bytes`` (20 MB): 413 whether or not Content-Length says so, nothing kept."""
    limit = hostile_web.web.service.config.media.max_upload_bytes
    big = SPEECH_WAV + b"\x00" * (limit + 1 - len(SPEECH_WAV))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 1 << 20):
            yield big[start : start + (1 << 20)]

    failures: list[str] = []
    async with hostile_web.web.api() as api:
        before = hostile_web.state()
        for what, kwargs in [
            ("declared and sent", {"content": big}),
            ("chunked, no length", {"content": chunks()}),
        ]:
            try:
                answer = await api.put(UPLOAD, **kwargs)  # type: ignore[arg-type]
            except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
                continue  # the server stopped reading the body: also a refusal
            if answer.status_code != 413:
                failures.append(f"{what}: {answer.status_code} {answer.text[:100]!r}")
        failures += hostile_web.changes(before)
    tally("uploads", 2)
    report(failures, caplog)


async def test_decoder_bomb_costs_bounded_memory(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """A 60 KB FLAC of 8 channels at 384 kHz (30 s): refused, with well under 200 MB of extra memory.

    Decoded naively it is 92 million samples (about 550 MB on the way to mono).
    """
    bomb = flac_bomb()
    assert len(bomb) < 200_000
    failures: list[str] = []
    async with hostile_web.web.api() as api:
        before = hostile_web.state()
        baseline = memory_kb("VmRSS")
        peak_rss_reset()
        answer = await api.put(UPLOAD, content=bomb, headers={"Content-Type": "audio/flac"})
        grown_mb = (memory_kb("VmHWM") - baseline) / 1024
        if found := problem(answer, "8-channel 384 kHz FLAC"):
            failures.append(found)
        if grown_mb > 200:
            failures.append(f"8-channel 384 kHz FLAC: the service's peak memory grew by {grown_mb:.0f} MB")
        failures += hostile_web.changes(before)
    tally("uploads", 1)
    report(failures, caplog)


async def test_traversal_filename_writes_only_into_the_media_store(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """A form upload named ``../../x.wav`` is stored content-addressed in the media store, nowhere else."""
    root = hostile_web.root
    names = [
        "../../../escaped.wav",
        "/tmp/escaped.wav",
        "..\\..\\escaped.wav",
        "escaped.wav\x00.txt",
        "%2e%2e/escaped.wav",
    ]
    failures: list[str] = []
    async with hostile_web.web.api() as api:
        for name in names:
            files_before = hostile_web.state()[1]
            answer = await api.put(UPLOAD, files={"file": (name, SPEECH_WAV, "audio/wav")})
            if answer.status_code != 201:
                failures.append(f"filename {name!r}: {answer.status_code} {answer.text[:100]!r}")
            new = [p for p in hostile_web.state()[1] if p not in files_before]
            outside = [p for p in new if not p.startswith("media/")]
            if outside:
                failures.append(f"filename {name!r}: files written outside the media store: {outside}")
    escaped = await asyncio.to_thread(
        lambda: [*root.parent.rglob("escaped*"), *Path("/tmp").glob("escaped*")]
    )
    if escaped:
        failures.append(f"files named after the upload: {escaped}")
    tally("uploads", len(names))
    report(failures, caplog)
