"""``voicestatus import-legacy`` on the real sandbox: a legacy installation taken over."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from support import running
from voicestatus.audio.pcm import Pcm
from voicestatus.audio.wav import encode_wav
from voicestatus.cli import main
from voicestatus.config import Config
from voicestatus_dev.analysis import detect_tones, tone
from voicestatus_dev.driver import CallDriver
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

pytestmark = pytest.mark.asterisk


def _wav(pcm: Pcm) -> bytes:
    """As the article's Record() leaves it: 8 kHz, 16-bit, mono WAV."""
    return encode_wav(pcm.samples, 8000)


@pytest.fixture
def legacy_flags(sandbox: Sandbox) -> Iterator[None]:
    sandbox.cli("database deltree op_alert")
    for ext, flag in (("101", "true"), ("102", "false"), ("103", "true")):
        sandbox.cli(f"database put op_alert {ext} {flag}")
    yield
    sandbox.cli("database deltree op_alert")


def _toml(config: Config, info: SandboxInfo, path: Path) -> Path:
    path.write_text(
        f'[ari]\nurl = "{info.ari_url}"\nusername = "{info.ari_username}"\npassword = "{info.ari_password}"\n'
        f'[database]\nurl = "{config.database.url}"\n'
        f'[media]\ndir = "{config.media.dir}"\n'
        f'[asterisk]\nami_url = "tcp://{info.ami_host}:{info.ami_port}"\n'
        f'ami_username = "{info.ami_username}"\nami_password = "{info.ami_password}"\n'
    )
    return path


async def _vs(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


async def test_import_keeps_state_is_idempotent_and_callers_hear_it(
    legacy_flags: None,
    sandbox_info: SandboxInfo,
    service_config: Config,
    driver: CallDriver,
    tmp_path: Path,
) -> None:
    sounds = tmp_path / "custom"
    sounds.mkdir()
    (sounds / "rec_101.wav").write_bytes(_wav(tone(600, 2.0)))
    (sounds / "rec_102.wav").write_bytes(_wav(tone(900, 2.0)))
    (sounds / "rec_104.wav").write_bytes(_wav(tone(600, 0.0001)))
    (sounds / "rec_5000.wav").write_bytes(_wav(tone(600, 2.0)))
    (sounds / "notes.txt").write_text("not a recording")
    config = _toml(service_config, sandbox_info, tmp_path / "voicestatus.toml")
    args = ("import-legacy", "--config", str(config), "--sounds-dir", str(sounds))

    dry = await _vs(*args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "101: would import (2.0 s, on)" in dry.output
    assert "2 message(s) would be imported (dry run, nothing changed), 3 skipped." in dry.output

    first = await _vs(*args)
    assert first.exit_code == 0, first.output
    assert "Found 3 op_alert flag(s) and 4 rec_<ext>.wav file(s)." in first.output
    assert "101: imported (2.0 s, on)" in first.output
    assert "102: imported (2.0 s, off (flag false))" in first.output
    assert "103: skipped (flag 'true' but no rec_103.wav)" in first.output
    assert "104: skipped" in first.output
    assert "5000: skipped (not allowed by [operators] pattern)" in first.output
    assert "2 message(s) imported, 3 skipped." in first.output

    again = await _vs(*args)
    assert "101: skipped (already imported)" in again.output
    assert "0 message(s) imported" in again.output

    async with running(service_config) as service:
        assert await service.messages.playable("101") is not None
        assert await service.messages.playable("102") is None, "a false flag imports the message switched off"
        assert await service.messages.current("102", 1) is not None
        call = await driver.call("101", "voicestatus-unavailable", caller_id="200")
        await call.wait_answered(15)
        heard = await call.listen(8)
        tones = detect_tones(heard, [600, 900])
        assert tones[600] > 1.0, f"the caller hears the imported message: {tones}"
        entries, _ = await service.audit.list(extension="101")
        assert any(e.actor == "cli:import-legacy" and e.action == "message.accept" for e in entries)


async def test_import_from_astdb_file(
    service_config: Config, sandbox_info: SandboxInfo, tmp_path: Path
) -> None:
    import sqlite3

    astdb = tmp_path / "astdb.sqlite3"
    with sqlite3.connect(astdb) as conn:
        conn.execute("CREATE TABLE astdb (key VARCHAR(256), value VARCHAR(256), PRIMARY KEY(key))")
        conn.executemany(
            "INSERT INTO astdb VALUES (?, ?)",
            [("/op_alert/105", "true"), ("/op_alert/106", "false"), ("/other/1", "x")],
        )
    conn.close()
    sounds = tmp_path / "custom"
    sounds.mkdir()
    (sounds / "rec_105.wav").write_bytes(_wav(tone(600, 1.5)))
    config = _toml(service_config, sandbox_info, tmp_path / "voicestatus.toml")
    result = await _vs(
        "import-legacy", "--config", str(config), "--sounds-dir", str(sounds), "--astdb", str(astdb)
    )
    assert result.exit_code == 0, result.output
    assert "105: imported (1.5 s, on)" in result.output
    assert "106: skipped (flag 'false' but no rec_106.wav)" in result.output
