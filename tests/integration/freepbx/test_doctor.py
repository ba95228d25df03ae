"""``voicestatus doctor`` against the real sandbox and a real MariaDB: green, then each check red."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import support
from mariadb_server import MariaDB
from voicestatus.app import Service
from voicestatus.asterisk.dialplan import render_dialplan
from voicestatus.audio.wav import encode_wav
from voicestatus.cli import main
from voicestatus.config import Config
from voicestatus.services.audit import Actor
from voicestatus.storage.database import migrate
from voicestatus_dev.analysis import tone
from voicestatus_dev.sandbox import Sandbox, SandboxError, SandboxInfo

pytestmark = pytest.mark.asterisk


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _toml(config: Config, info: SandboxInfo, path: Path, **override: str) -> Path:
    values = {
        "password": info.ari_password,
        "public_url": config.http.public_url,
        "freepbx": "",
    } | override
    path.write_text(
        f'[ari]\nurl = "{info.ari_url}"\nusername = "{info.ari_username}"\n'
        f'password = "{values["password"]}"\n'
        f'[http]\nlisten = "{config.http.listen}"\npublic_url = "{values["public_url"]}"\n'
        f'[database]\nurl = "{config.database.url}"\n'
        f'[media]\ndir = "{config.media.dir}"\n'
        f'[asterisk]\nami_url = "tcp://{info.ami_host}:{info.ami_port}"\n'
        f'ami_username = "{info.ami_username}"\nami_password = "{info.ami_password}"\n'
        f'[freepbx]\nconfig_file = "{path.parent / "no-freepbx.conf"}"\n'
        f'database_url = "{values["freepbx"]}"\n'
    )
    path.chmod(0o640)  # as the README's deploy steps say: it holds passwords
    return path


async def _doctor(config: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["doctor", "--json", "--config", str(config)], catch_exceptions=False
    )
    report = json.loads(result.output)
    assert report["ok"] == (result.exit_code == 0)
    return result.exit_code, {c["check"]: c for c in report["checks"]}


def _show(checks: dict[str, dict[str, Any]]) -> str:
    return "\n".join(f"{c['check']}: {c['status']} {c['detail']}" for c in checks.values())


def _failed(checks: dict[str, dict[str, Any]]) -> set[str]:
    return {name for name, c in checks.items() if c["status"] == "fail"}


def _restart(sandbox: Sandbox) -> None:
    try:
        sandbox.restart()
    except SandboxError:  # a forced unload may have taken Asterisk down with it
        sandbox.up(render_dialplan(Config(), "asterisk"))


@pytest.fixture
async def prepared(service_config: Config) -> Config:
    """A migrated database and media directory, as after the service's first start."""
    await migrate(service_config.database.url)
    os.makedirs(service_config.media.dir, exist_ok=True)
    return service_config


@pytest.fixture
async def running(prepared: Config) -> AsyncIterator[Service]:
    """The service itself, up and connected to the sandbox Asterisk."""
    async with support.running(prepared) as service:
        yield service


async def _publish(service: Service, extension: str) -> None:
    audio = await service.messages.process_upload(encode_wav(tone(600, 1.0).samples, 8000))
    await service.messages.publish(extension, 1, audio, actor=Actor("admin", "tests"))


async def test_all_green_with_the_service_running(
    prepared: Config, running: Service, sandbox_info: SandboxInfo, tmp_path: Path, mariadb_server: MariaDB
) -> None:
    mariadb_server.seed({"101": ("voicestatus-unavailable,s,1", "", ""), "999": ("", "", "")})
    config = _toml(prepared, sandbox_info, tmp_path / "vs.toml", freepbx=mariadb_server.url)
    await _publish(running, "101")
    code, checks = await _doctor(config)
    bad = [f"{c['check']}: {c['detail']}" for c in checks.values() if c["status"] != "ok"]
    assert not bad, "\n".join(bad)
    assert code == 0
    assert "/media/" in checks["public-url"]["detail"]
    assert "1 operator extension(s)" in checks["freepbx"]["detail"]


async def test_service_stopped_probe_server_answers_for_it(
    prepared: Config, sandbox_info: SandboxInfo, tmp_path: Path
) -> None:
    code, checks = await _doctor(_toml(prepared, sandbox_info, tmp_path / "vs.toml"))
    assert code == 0, checks
    assert checks["app"]["status"] == "warn"
    assert "not running" in checks["app"]["detail"]
    assert checks["public-url"]["status"] == "ok"


async def test_wrong_password(prepared: Config, sandbox_info: SandboxInfo, tmp_path: Path) -> None:
    code, checks = await _doctor(_toml(prepared, sandbox_info, tmp_path / "vs.toml", password="wrong"))
    assert code == 1
    assert checks["ari"]["status"] == "fail"
    assert "refused the credentials" in checks["ari"]["detail"]
    assert "ari.conf" in checks["ari"]["fix"]


async def test_media_module_unloaded(
    prepared: Config, sandbox: Sandbox, sandbox_info: SandboxInfo, tmp_path: Path
) -> None:
    # Its use count is held, so only a forced unload works, and it cannot be loaded
    # again in the same process: restart the sandbox afterwards.
    sandbox.cli("module unload -f res_http_media_cache.so")
    try:
        code, checks = await _doctor(_toml(prepared, sandbox_info, tmp_path / "vs.toml"))
    finally:
        await asyncio.to_thread(_restart, sandbox)
    assert code == 1
    assert "media-module" in _failed(checks)
    assert "module load res_http_media_cache.so" in checks["media-module"]["fix"]


async def test_context_missing(
    prepared: Config, sandbox: Sandbox, sandbox_info: SandboxInfo, tmp_path: Path
) -> None:
    sandbox.set_dialplan("; nothing\n")
    try:
        code, checks = await _doctor(_toml(prepared, sandbox_info, tmp_path / "vs.toml"))
    finally:
        sandbox.set_dialplan(render_dialplan(Config(), "asterisk"))
    assert code == 1
    assert _failed(checks) == {"dialplan"}, _show(checks)
    assert "voicestatus-menu, voicestatus-unavailable" in checks["dialplan"]["detail"]
    assert "voicestatus freepbx dialplan" in checks["dialplan"]["fix"]


async def test_unreachable_public_url(prepared: Config, sandbox_info: SandboxInfo, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    code, checks = await _doctor(_toml(prepared, sandbox_info, tmp_path / "vs.toml", public_url=url))
    assert code == 1
    assert _failed(checks) == {"public-url"}, _show(checks)
    assert "public_url" in checks["public-url"]["fix"]


async def test_freepbx_inconsistent_and_fresh_install(
    service_config: Config, sandbox_info: SandboxInfo, tmp_path: Path, mariadb_server: MariaDB
) -> None:
    mariadb_server.seed({"101": ("", "", ""), "500": ("voicestatus-unavailable,s,1", "", "")})
    config = _toml(service_config, sandbox_info, tmp_path / "vs.toml", freepbx=mariadb_server.url)
    code, checks = await _doctor(config)
    assert code == 1
    assert _failed(checks) == {"freepbx", "database", "media-store"}, _show(checks)
    assert "freepbx apply --extensions 101" in checks["freepbx"]["fix"]
    assert "revert --extensions 500" in checks["freepbx"]["fix"]
    assert "does not exist yet" in checks["database"]["detail"]
    database_file = service_config.database.url.removeprefix("sqlite:///")
    assert not os.path.exists(database_file), "doctor must not create the database"  # noqa: ASYNC240


async def test_only_operators_with_a_message_fail_the_freepbx_check(
    prepared: Config, running: Service, sandbox_info: SandboxInfo, tmp_path: Path, mariadb_server: MariaDB
) -> None:
    """A broad pattern with a few operators wired: only a message nobody can hear is a failure."""
    mariadb_server.seed(
        {"101": ("voicestatus-unavailable,s,1", "", ""), "102": ("", "", ""), "103": ("", "", "")}
    )
    config = _toml(prepared, sandbox_info, tmp_path / "vs.toml", freepbx=mariadb_server.url)
    await _publish(running, "102")
    code, checks = await _doctor(config)
    assert code == 1
    assert _failed(checks) == {"freepbx"}, _show(checks)
    freepbx = checks["freepbx"]
    assert "with a message not sent to voicestatus-unavailable" in freepbx["detail"]
    assert "callers never hear it: 102;" in freepbx["detail"]
    assert "without a message" in freepbx["detail"]
    assert freepbx["fix"].startswith("voicestatus freepbx apply --extensions 102;")

    await running.messages.delete("102", 1, actor=Actor("admin", "tests"))
    code, checks = await _doctor(config)
    assert code == 0, _show(checks)
    freepbx = checks["freepbx"]
    assert freepbx["status"] == "warn"
    assert "2 extension(s) matching [operators] pattern, without a message" in freepbx["detail"]
    assert "102,103" in freepbx["fix"]
