"""Helpers for the web UI and API tests: a running service without Asterisk, audio files, logins.

Most web tests need no PBX: the service runs its real web server, database and
media store, with ARI pointed at a closed port (so the health panel shows ARI
down). Tests that need Asterisk use the ``service`` fixture instead.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import av
import httpx
import numpy as np
import soxr

from voicestatus.app import Service
from voicestatus.audio.decode import read_wav
from voicestatus.audio.pcm import Pcm
from voicestatus.config import Config, config_from_dict
from voicestatus.services.audit import Actor

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
SPEECH_WAV = (FIXTURES / "speech-en-8k.wav").read_bytes()
PASSWORD = "correct horse battery"


def speech() -> Pcm:
    return read_wav(SPEECH_WAV)


def encode(pcm: Pcm, fmt: str, codec: str, rate: int | None = None) -> bytes:
    """``pcm`` encoded by FFmpeg in memory, as a browser or phone app would upload it."""
    rate = rate or pcm.rate
    samples = soxr.resample(pcm.samples, pcm.rate, rate) if rate != pcm.rate else pcm.samples
    ints = (np.clip(samples, -1, 1) * 32767).astype(np.int16)[np.newaxis, :]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.audio.stream.AudioStream)
        frame = av.AudioFrame.from_ndarray(ints, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def web_config(tmp_path: Path, port: int, **http: object) -> Config:
    return config_from_dict(
        {
            "ari": {"url": "http://127.0.0.1:9", "reconnect_min_delay": 5, "reconnect_max_delay": 5},
            "http": {"listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}", **http},
            "database": {"url": f"sqlite:///{tmp_path / 'voicestatus.db'}"},
            "media": {"dir": str(tmp_path / "media")},
        }
    )


@dataclass
class Web:
    """A running service's web side, an admin and an API token for it."""

    service: Service
    base: str
    token: str

    def api(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.AsyncClient(base_url=self.base, headers=headers, timeout=30)

    def anonymous(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, timeout=30)


async def start_web(config: Config) -> AsyncIterator[Web]:
    """The service's database and web server (no ARI), with admin ``alice`` and a token."""
    svc = Service(config)
    await svc.db.migrate()
    await svc.web.start()
    try:
        await svc.accounts.create_admin("alice", PASSWORD, actor=Actor("cli", "test"))
        token = await svc.accounts.create_token("alice", actor=Actor("cli", "test"))
        yield Web(svc, f"http://127.0.0.1:{config.http.port}", token)
    finally:
        await svc.web.stop()
        await svc.ari.aclose()
        await svc.db.close()


async def login_session(client: httpx.AsyncClient, form: dict[str, str], operator: bool = False) -> str:
    """Log ``client`` in through the login form; returns the session's CSRF token."""
    page = await client.get("/login")
    login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert login_csrf is not None
    answer = await client.post(
        "/login/operator" if operator else "/login", data={**form, "csrf_token": login_csrf[1]}
    )
    assert answer.status_code == 303, answer.text
    me = await client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    csrf: str = me.json()["csrf_token"]
    return csrf


async def wait_for_async(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    """Bounded poll of an async condition (tests never sleep blindly)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)
