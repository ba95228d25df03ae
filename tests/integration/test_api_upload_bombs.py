"""Decoder bombs and bursts of uploads against the running service: a clear refusal, nothing changed."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bomb_support import flac_8ch_384k
from support import free_port
from voicestatus.audio.process import ProcessedAudio
from web_support import SPEECH_WAV, Web, start_web, web_config

URL = "/api/v1/operators/101/messages/1"


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    """The service decoding one upload at a time, with none waiting, and a message in place."""
    config = web_config(tmp_path, free_port())
    media = dataclasses.replace(config.media, max_concurrent_decodes=1, decode_queue=0)
    async for running in start_web(dataclasses.replace(config, media=media)):
        async with running.api() as client:
            assert (await client.put(URL, content=SPEECH_WAV)).status_code == 201
        yield running


async def state(web: Web) -> tuple[object, int]:
    current = await web.service.messages.current("101", 1)
    _entries, total = await web.service.audit.list()
    return current, total


async def test_an_8_channel_384k_flac_bomb_is_refused_as_too_much_data(web: Web) -> None:
    """40 s of 7.1 at 384 kHz in 24 KB: refused while decoding, not after a gigabyte."""
    bomb = flac_8ch_384k(40.0)
    assert len(bomb) < 64 * 1024
    before = await state(web)

    async with web.api() as client:
        raw = await client.put(URL, content=bomb)
        form = await client.put(URL, files={"file": ("bomb.flac", bomb, "audio/flac")})

    for answer in (raw, form):
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert body["error_id"] == "audio-undecodable"
        assert body["details"]["reason"] == "too much audio data"
        assert "mono or stereo" in body["message"]
    assert await state(web) == before


async def test_an_upload_while_the_decoder_is_busy_gets_503_and_changes_nothing(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    process = web.service.messages.process_upload

    async def held(data: bytes) -> ProcessedAudio:
        entered.set()
        await release.wait()
        return await process(data)

    monkeypatch.setattr(web.service.messages, "process_upload", held)
    before = await state(web)

    async with web.api() as client:
        first = asyncio.create_task(client.put(URL, content=SPEECH_WAV))
        await asyncio.wait_for(entered.wait(), 10)
        second = await asyncio.wait_for(client.put(URL, content=SPEECH_WAV), 10)

        assert second.status_code == 503, second.text
        body = second.json()
        assert body["error_id"] == "uploads-busy"
        assert body["details"]["retry_after"] > 0
        assert second.headers["Retry-After"] == str(body["details"]["retry_after"]), "clients read the header"
        assert "Try again" in body["message"]
        assert await state(web) == before

        release.set()
        assert (await first).status_code == 201
