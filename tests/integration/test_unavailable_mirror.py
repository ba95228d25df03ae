"""Co-located mirror and hostile operator values on the real sandbox."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from caller_support import (
    BODY_HZ,
    TEST_DIALPLAN,
    astdb,
    capture_sessions,
    colocated,
    dial,
    first_session,
    heard,
    publish,
)
from support import running, wait_until
from voicestatus.config import Config
from voicestatus.services.audit import Actor
from voicestatus_dev.analysis import detect_tones, silence_ratio
from voicestatus_dev.driver import CallDriver
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

pytestmark = pytest.mark.asterisk

VOICESTATUS = Path(sys.executable).with_name("voicestatus")
TEMPLATE_101 = ["sound:vm-theperson", "digits:101", "sound:vm-isunavail"]


@pytest.fixture
def caller_config(service_config: Config, sandbox: Sandbox, sandbox_info: SandboxInfo) -> Iterator[Config]:
    with colocated(service_config, sandbox, sandbox_info) as config:
        sandbox.add_dialplan("caller-tests", TEST_DIALPLAN)
        yield config


async def test_mirror_plays_while_the_service_is_down(
    caller_config: Config, sandbox: Sandbox, sandbox_info: SandboxInfo, driver: CallDriver
) -> None:
    mirrored = sandbox_info.sounds_dir / "voicestatus" / "101.wav"
    async with running(caller_config) as service:
        await publish(service)
        assert mirrored.is_file()
        assert "/voicestatus/101" in astdb(sandbox)
        assert ": voicestatus/101" in astdb(sandbox)
    call = await dial(driver, "101", "voicestatus-unavailable")
    pcm = await heard(call)
    assert detect_tones(pcm, [BODY_HZ])[BODY_HZ] > 1.2, "the mirrored message played without the service"

    async with running(caller_config) as service:
        await service.messages.delete("101", 1, actor=Actor("admin", "tests"))
        assert not mirrored.exists()
        assert "/voicestatus/101" not in astdb(sandbox)
    call = await dial(driver, "101", "voicestatus-unavailable")
    pcm = await heard(call)
    assert detect_tones(pcm, [BODY_HZ])[BODY_HZ] == 0
    assert silence_ratio(pcm) < 0.8, "the dialplan's template, not silence"


async def test_cli_switch_off_reaches_the_running_service_mirror(
    caller_config: Config, sandbox: Sandbox, sandbox_info: SandboxInfo, tmp_path: Path
) -> None:
    """``voicestatus operators set 101 --off`` from a shell clears the mirror without a restart.

    The command changes the database in its own process; the running service
    must notice, or the dialplan fallback keeps playing a switched-off message.
    """
    mirrored = sandbox_info.sounds_dir / "voicestatus" / "101.wav"
    cli_config = tmp_path / "cli.toml"
    cli_config.write_text(f'[database]\nurl = "{caller_config.database.url}"\n')
    async with running(caller_config) as service:
        await publish(service)
        assert mirrored.is_file()
        assert ": voicestatus/101" in astdb(sandbox)
        proc = await asyncio.create_subprocess_exec(
            str(VOICESTATUS), "operators", "set", "101", "--off", "--config", str(cli_config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        assert "operator 101 updated" in out.decode()
        await wait_until(lambda: not mirrored.exists(), 10, "the mirror file to go")
        await wait_until(lambda: "voicestatus/101" not in astdb(sandbox), 10, "the AstDB key to go")
        assert await service.playable.playable("101") is None


async def test_start_heals_a_missed_mirror(
    caller_config: Config, sandbox: Sandbox, sandbox_info: SandboxInfo
) -> None:
    mirrored = sandbox_info.sounds_dir / "voicestatus" / "101.wav"
    async with running(caller_config) as service:
        await publish(service)
    mirrored.unlink()
    sandbox.cli("database deltree voicestatus")
    stale = sandbox_info.sounds_dir / "voicestatus" / "102.wav"
    stale.write_bytes(b"RIFF")
    async with running(caller_config):
        await wait_until(lambda: mirrored.is_file() and not stale.exists(), 10, "the mirror re-sync")
        await wait_until(lambda: ": voicestatus/101" in astdb(sandbox), 10, "the AstDB key")


async def test_operator_from_exttocall_then_connectedline(caller_config: Config, driver: CallDriver) -> None:
    async with running(caller_config) as service:
        await publish(service)
        for context in ("vs-test-exttocall", "vs-test-connected"):
            call = await dial(driver, "101", context)
            pcm = await heard(call)
            assert detect_tones(pcm, [BODY_HZ])[BODY_HZ] > 1.2, context


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("101,evil", None),  # splits into operator 101 and an unknown reason
        ("$(id)", ["sound:vm-nobodyavail"]),
        ("../../x", ["sound:vm-nobodyavail"]),
        ("101;x", ["sound:vm-nobodyavail"]),
    ],
)
async def test_hostile_operator_values_are_refused(
    caller_config: Config, driver: CallDriver, value: str, expected: list[str] | None
) -> None:
    async with running(caller_config) as service:
        sessions = capture_sessions(service)
        call = await dial(driver, "s", "vs-test-arg", VS_ARG=value)
        session = await first_session(sessions)
        pcm = await heard(call)
        assert silence_ratio(pcm) < 0.8
        assert session.played == (expected or TEMPLATE_101)
        assert (
            service.metrics.registry.get_sample_value(
                "voicestatus_calls_total", {"flow": "unavailable", "outcome": "error"}
            )
            is None
        )
