"""Housekeeping on the real sandbox: expiry reaches the mirror, retention spares live audio."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from caller_support import BODY_HZ, astdb, colocated, dial, heard, publish
from support import running, wait_until
from voicestatus.audio.wav import encode_wav
from voicestatus.config import Config
from voicestatus.services.audit import Actor
from voicestatus.services.clock import utcnow
from voicestatus.storage.models import Message
from voicestatus_dev.analysis import detect_tones, silence_ratio, tone
from voicestatus_dev.driver import CallDriver
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

pytestmark = pytest.mark.asterisk

ADMIN = Actor("admin", "tests")
VOICESTATUS = Path(sys.executable).with_name("voicestatus")


@pytest.fixture
def mirror_config(service_config: Config, sandbox: Sandbox, sandbox_info: SandboxInfo) -> Iterator[Config]:
    with colocated(service_config, sandbox, sandbox_info) as config:
        yield config


async def test_an_expired_message_leaves_the_mirror_while_the_service_runs(
    mirror_config: Config, sandbox: Sandbox, sandbox_info: SandboxInfo, driver: CallDriver
) -> None:
    mirrored = sandbox_info.sounds_dir / "voicestatus" / "101.wav"
    async with running(mirror_config) as service:
        await publish(service)
        assert mirrored.is_file()
        assert ": voicestatus/101" in astdb(sandbox)

        # What PATCH /api/v1/operators/101 does; the service tells the listeners itself.
        await service.operators.update("101", expires_at=utcnow() + timedelta(seconds=2), actor=ADMIN)

        await wait_until(lambda: not mirrored.exists(), 20, "the mirror file to go at expiry")
        await wait_until(lambda: "voicestatus/101" not in astdb(sandbox), 10, "the AstDB key to go")
        assert await service.messages.playable("101") is None

    # With the service down, the dialplan fallback says the template, not the expired message.
    call = await dial(driver, "101", "voicestatus-unavailable")
    pcm = await heard(call)
    assert detect_tones(pcm, [BODY_HZ])[BODY_HZ] == 0
    assert silence_ratio(pcm) < 0.8, "the dialplan's template, not silence"


async def test_purge_removes_old_history_and_abandoned_audio_but_the_live_message_plays(
    mirror_config: Config, driver: CallDriver, tmp_path: Path
) -> None:
    async with running(mirror_config) as service:
        old = await service.messages.process_upload(encode_wav(tone(1000, 1.5).samples, 8000))
        await service.messages.publish("101", 1, old, actor=ADMIN)
        live = await publish(service)  # replaces it: the old one is history now
        abandoned = await service.messages.process_upload(encode_wav(tone(450, 1.5).samples, 8000))
        await service.messages.stage(abandoned)  # recorded for review, never accepted
        async with service.db.transaction() as session:
            await session.execute(
                update(Message)
                .where(Message.is_current.is_(False))
                .values(retired_at=utcnow() - timedelta(days=40))
            )
        two_days_ago = time.time() - 2 * 86400
        for path in service.media.root.rglob("*.wav*"):
            os.utime(path, (two_days_ago, two_days_ago))

        config_file = tmp_path / "purge.toml"
        config_file.write_text(
            f'[database]\nurl = "{mirror_config.database.url}"\n[media]\ndir = "{mirror_config.media.dir}"\n'
        )
        proc = await asyncio.create_subprocess_exec(
            str(VOICESTATUS), "purge", "--config", str(config_file),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(proc.communicate(), 60)
        text = output.decode()
        assert proc.returncode == 0, text
        assert f"history audio removed: 1\n  {old.sha256}" in text
        assert f"never-accepted audio removed: 1\n  {abandoned.sha256}" in text

        assert service.media.exists(live.sha256)
        assert not service.media.exists(old.sha256)
        assert not service.media.exists(abandoned.sha256)
        assert await service.messages.history("101", 1) == []

        call = await dial(driver, "101", "voicestatus-unavailable")
        pcm = await heard(call)
        assert detect_tones(pcm, [BODY_HZ])[BODY_HZ] > 1.2, "the live message still plays"
