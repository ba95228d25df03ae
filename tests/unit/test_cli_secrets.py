"""Secrets never in argv, never in output (security issue item 11).

Passwords, PINs and database URLs with credentials are read from a hidden
prompt or standard input; a value given on the command line is refused
(it would already be in ``ps`` and the shell history), and ``install
--print`` shows placeholders, not the ARI password. The real CLI (click's
CliRunner) against a real SQLite database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner, Result

from voicestatus.cli import main
from voicestatus.config import load_config
from voicestatus.services.accounts import AccountService
from voicestatus.services.audit import AuditService
from voicestatus.services.extensions import ExtensionPattern
from voicestatus.services.operators import OperatorService
from voicestatus.storage.database import Database

ARI_SECRET = "Ari-Secret-Never-Shown-42"


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "vs.toml"
    path.write_text(
        f'[ari]\npassword = "{ARI_SECRET}"\n[database]\nurl = "sqlite:///{tmp_path / "vs.db"}"\n'
        f'[media]\ndir = "{tmp_path / "media"}"\n'
    )
    return path


def _vs(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def _login_ok(config: Path, username: str, password: str) -> bool:
    async def check() -> bool:
        db = Database(load_config(config, environ={}).database.url)
        try:
            return (
                await AccountService(db, audit=AuditService(db)).authenticate(username, password) is not None
            )
        finally:
            await db.close()

    return asyncio.run(check())


def _pin_ok(config: Path, extension: str, pin: str) -> bool:
    async def check() -> bool:
        cfg = load_config(config, environ={})
        db = Database(cfg.database.url)
        try:
            pattern = ExtensionPattern.parse(cfg.operators.pattern)
            return await OperatorService(db, is_allowed=pattern.matches).verify_pin(extension, pin)
        finally:
            await db.close()

    return asyncio.run(check())


def test_admin_password_on_the_command_line_is_refused(tmp_path: Path) -> None:
    config = _config(tmp_path)
    for command in ("create", "passwd"):
        result = _vs(
            "admin", command, "--config", str(config), "--username", "alice", "--password", "pw-123456"
        )
        assert result.exit_code == 2, result.output
        assert "shows in 'ps'" in result.output
        assert "--password-stdin" in result.output


def test_admin_password_from_stdin_and_from_the_prompt(tmp_path: Path) -> None:
    config = _config(tmp_path)
    created = _vs(
        "admin", "create", "--config", str(config), "--username", "alice", "--password-stdin",
        input="first-Secret-1\n",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "first-Secret-1" not in created.output
    assert _login_ok(config, "alice", "first-Secret-1")

    changed = _vs(
        "admin",
        "passwd",
        "--config",
        str(config),
        "--username",
        "alice",
        input="second-Secret-2\nsecond-Secret-2\n",
    )
    assert changed.exit_code == 0, changed.output
    assert "second-Secret-2" not in changed.output, "the prompt hides what is typed"
    assert _login_ok(config, "alice", "second-Secret-2")


def test_operator_pin_from_stdin_or_prompt_never_argv(tmp_path: Path) -> None:
    config = _config(tmp_path)
    refused = _vs("operators", "set", "101", "--config", str(config), "--pin", "2468")
    assert refused.exit_code == 2
    assert "--pin-stdin" in refused.output

    piped = _vs("operators", "set", "101", "--config", str(config), "--pin-stdin", input="2468\n")
    assert piped.exit_code == 0, piped.output
    assert _pin_ok(config, "101", "2468")

    prompted = _vs("operators", "set", "101", "--config", str(config), "--pin", input="1357\n1357\n")
    assert prompted.exit_code == 0, prompted.output
    assert "1357" not in prompted.output
    assert _pin_ok(config, "101", "1357")


def test_freepbx_database_url_with_a_password_is_refused_in_argv(tmp_path: Path) -> None:
    result = _vs(
        "freepbx", "apply", "--config", str(_config(tmp_path)), "--extensions", "101",
        "--database-url", "mysql://freepbxuser:Db-Secret@127.0.0.1:1/asterisk",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--database-url-stdin" in result.output
    assert "$VOICESTATUS_FREEPBX__DATABASE_URL" in result.output


def test_install_print_never_shows_the_ari_password(tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = _vs("install", "--print", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert ARI_SECRET not in result.output
    assert f"password = <the [ari] password from {config}>" in result.output
