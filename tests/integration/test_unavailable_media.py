"""/media as Asterisk fetches it: headers, 404s, and both variants play at the right pitch."""

from __future__ import annotations

import httpx
import pytest

from caller_support import BODY_HZ, MARKER_HZ, publish
from support import running
from voicestatus.ari.models import StasisStart
from voicestatus.config import Config
from voicestatus_dev.analysis import detect_tones
from voicestatus_dev.driver import CallDriver
from voicestatus_dev.sandbox import Sandbox

pytestmark = pytest.mark.asterisk

PLAY_URL = "[vs-test-url]\nexten => _X.,1,Answer()\n same => n,Playback(${URL})\n same => n,Hangup()\n"


async def test_media_variants(service_config: Config, sandbox: Sandbox, driver: CallDriver) -> None:
    sandbox.add_dialplan("caller-media", PLAY_URL)
    base = service_config.http.public_url
    async with running(service_config) as service:
        message = await publish(service)
        async with httpx.AsyncClient() as client:
            for fmt, ctype in (("wav", "audio/wav"), ("wav16", "audio/x-wav16")):
                response = await client.get(f"{base}/media/{message.sha256}.{fmt}")
                assert response.status_code == 200
                assert response.headers["content-type"] == ctype
                assert "immutable" in response.headers["cache-control"]
            for bad in (f"{message.sha256}.mp3", "../voicestatus.db", f"{message.sha256[:-1]}0.wav"):
                assert (await client.get(f"{base}/media/{bad}")).status_code == 404
        for fmt in ("wav", "wav16"):
            call = await driver.call(
                "10", "vs-test-url", variables={"URL": f"{base}/media/{message.sha256}.{fmt}"}
            )
            await call.wait_event(StasisStart, 15)
            tones = detect_tones(await call.listen(10), [MARKER_HZ, BODY_HZ, BODY_HZ / 2, BODY_HZ * 2])
            assert tones[BODY_HZ] > 1.2, (fmt, tones)
            assert tones[BODY_HZ / 2] == 0, (fmt, tones)
            assert tones[BODY_HZ * 2] == 0, (fmt, tones)
