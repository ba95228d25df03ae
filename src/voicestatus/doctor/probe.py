"""Can Asterisk fetch and play our media? Ask it to, on a throwaway channel.

The only honest test of ``[http] public_url`` is Asterisk itself fetching a
WAV from it through res_http_media_cache, because the address has to work
from the Asterisk host, which may not be this one. An ExternalMedia channel
(RTP to the discard port) sits in a private Stasis app without any dialplan,
plays ``sound:<url>`` and tells us through ``PlaybackFinished`` whether it
worked. When the service is not running, a tiny HTTP server on
``[http] listen`` answers for it with half a second of silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import numpy as np

from voicestatus.ari.client import AriClient
from voicestatus.ari.events import EventStream
from voicestatus.ari.models import Event, PlaybackFinished, StasisStart
from voicestatus.audio.wav import encode_wav
from voicestatus.errors import AriError

PROBE_PATH = "/voicestatus-doctor-probe.wav"


def _silence() -> bytes:
    return encode_wav(np.zeros(4000, dtype=np.float32), 8000)


async def play_probe(ari_url: str, username: str, password: str, media_url: str, timeout: float = 15) -> str:
    """Play ``sound:<media_url>`` on a probe channel; "" if it played, else why not."""
    app = f"voicestatus-doctor-{uuid.uuid4().hex[:8]}"
    finished: dict[str, str] = {}
    started: set[str] = set()
    changed = asyncio.Event()

    def on_event(event: Event) -> None:
        if isinstance(event, StasisStart):
            started.add(event.channel.id)
            changed.set()
        if isinstance(event, PlaybackFinished):
            finished[event.playback.id] = event.playback.state
            changed.set()

    stream = EventStream(ari_url, username, password, [app], on_event)
    ari = AriClient(ari_url, username, password, timeout=10)
    channel_id = f"voicestatus-doctor-{uuid.uuid4().hex[:12]}"
    created = False
    try:
        stream.start()
        await stream.wait_connected(10)
        await ari.request(
            "POST",
            "/channels/externalMedia",
            params={"app": app, "external_host": "127.0.0.1:9", "format": "ulaw", "channelId": channel_id},
        )
        created = True
        async with asyncio.timeout(timeout):
            while channel_id not in started:
                await changed.wait()
                changed.clear()
            playback = await ari.play(channel_id, f"sound:{media_url}")
            while playback.id not in finished:
                await changed.wait()
                changed.clear()
        state = finished[playback.id]
        return "" if state in ("done", "completed") else f"playback {state}"
    except TimeoutError:
        return f"no answer from Asterisk within {timeout:.0f} s"
    except AriError as exc:
        return exc.message
    finally:
        if created:
            with contextlib.suppress(AriError):
                await ari.hangup(channel_id)
        await stream.close()
        await ari.aclose()


@contextlib.asynccontextmanager
async def probe_server(host: str, port: int) -> AsyncIterator[None]:
    """Serve the probe WAV on ``host:port`` (raises OSError if the port is taken)."""
    body = _silence()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            found = request.split(b" ", 2)[1:2] == [PROBE_PATH.encode()]
            status = b"200 OK" if found else b"404 Not Found"
            payload = body if found else b""
            head_only = request.startswith(b"HEAD ")
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: audio/wav\r\nConnection: close\r\n"
                + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                + (b"" if head_only else payload)
            )  # fmt: skip
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, port)
    try:
        yield None
    finally:
        server.close()
        await server.wait_closed()
