"""``voicestatus operators list|show|set|unlock``: operators from the command line.

Works on the configured database directly (no running service needed) and
goes through the same services as the UI and API, so every change is
validated and audited (actor ``cli:<user>``). A running service learns of
the change from that audit entry within seconds (``services/changes.py``)
and updates the co-located mirror and its caches; nothing here has to tell it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from voicestatus.cli.admin import cli_actor, config_option
from voicestatus.cli.secret_input import read_secret, secret_options
from voicestatus.config import Config, load_config
from voicestatus.errors import InvalidInput, VoiceStatusError
from voicestatus.services.audit import AuditService
from voicestatus.services.extensions import ExtensionPattern
from voicestatus.services.messages import MessageService
from voicestatus.services.operators import UNSET, OperatorService
from voicestatus.services.pin_guard import PinGuard
from voicestatus.storage.database import Database
from voicestatus.web.schemas import OperatorOut, operator_out, resolve_status

T = TypeVar("T")
Work = Callable[[Config, OperatorService, MessageService], Awaitable[T]]


def _run(config_path: Path | None, work: Work[T]) -> T:
    async def main() -> T:
        config = load_config(config_path)
        db = Database(config.database.url)
        try:
            await db.migrate()
            audit = AuditService(db)
            pattern = ExtensionPattern.parse(config.operators.pattern)
            operators = OperatorService(db, is_allowed=pattern.matches, audit=audit)
            return await work(config, operators, MessageService(db, operators, audit=audit))
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc


def _line(op: OperatorOut) -> str:
    state = "playing" if op.playing else ("expired" if op.expired else ("off" if op.active_status else "-"))
    expires = op.expires_at.isoformat(timespec="minutes") if op.expires_at else "-"
    return f"{op.extension:<8} {state:<8} {op.active_status_key or '-':<10} {expires:<22} {op.name or ''}"


@click.group()
def operators() -> None:
    """List, show and change operators."""


@operators.command("list")
@config_option
@click.option("--search", default=None, help="Extension prefix or part of the name.")
@click.option("--state", type=click.Choice(["active", "expired", "none"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(config_path: Path | None, search: str | None, state: Any, as_json: bool) -> None:
    """Operators that have a record."""

    async def work(cfg: Config, ops: OperatorService, msgs: MessageService) -> list[OperatorOut]:
        views, _total = await ops.list(search=search, state=state, limit=1000)
        return [await operator_out(cfg, msgs, v) for v in views]

    rows = _run(config_path, work)
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    click.echo(f"{'EXT':<8} {'STATE':<8} {'STATUS':<10} {'EXPIRES':<22} NAME")
    for row in rows:
        click.echo(_line(row))


@operators.command()
@config_option
@click.argument("extension")
def show(config_path: Path | None, extension: str) -> None:
    """One operator and their messages, as JSON."""

    async def work(cfg: Config, ops: OperatorService, msgs: MessageService) -> OperatorOut:
        view = await ops.get(extension)
        if view is None:
            raise InvalidInput(f"{extension!r} is not an operator extension")
        return await operator_out(cfg, msgs, view)

    click.echo(json.dumps(_run(config_path, work).model_dump(mode="json"), indent=2))


@operators.command("set")
@config_option
@click.argument("extension")
@click.option("--name", default=None, help="Display name ('' clears it).")
@secret_options("pin", what="PIN (4 to 20 digits)")
@click.option("--clear-pin", is_flag=True, help="Remove the PIN.")
@click.option("--enable/--disable", "enabled", default=None, help="Whether the operator may use the service.")
@click.option("--on/--off", "message_enabled", default=None, help="Whether callers hear the message.")
@click.option("--status", "status", default=None, help="Active status digit or key ('none' clears).")
@click.option("--expires", type=click.DateTime(["%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M%z"]), default=None,
              help="Expiry with timezone, e.g. 2030-01-31T18:00+03:00.")  # fmt: skip
@click.option("--no-expiry", is_flag=True, help="Remove the expiry.")
def set_(
    config_path: Path | None, extension: str, name: str | None, pin: str | None, pin_stdin: bool,
    clear_pin: bool, enabled: bool | None, message_enabled: bool | None, status: str | None,
    expires: datetime | None, no_expiry: bool,
) -> None:  # fmt: skip
    """Change an operator; only the options given change."""
    wants_pin = pin is not None or pin_stdin
    new_pin = read_secret("New PIN", given=pin, from_stdin=pin_stdin) if wants_pin else None

    async def work(cfg: Config, ops: OperatorService, _msgs: MessageService) -> None:
        digit = UNSET if status is None else (None if status == "none" else resolve_status(cfg, status).digit)
        expiry = None if no_expiry else (expires if expires is not None else UNSET)
        await ops.update(
            extension,
            name=UNSET if name is None else name,
            enabled=UNSET if enabled is None else enabled,
            message_enabled=UNSET if message_enabled is None else message_enabled,
            active_status=digit,
            expires_at=expiry,
            actor=cli_actor(),
        )
        if new_pin is not None or clear_pin:
            await ops.set_pin(extension, None if clear_pin else new_pin, actor=cli_actor())

    _run(config_path, work)
    click.echo(f"operator {extension} updated")


@operators.command()
@config_option
@click.argument("extension")
def unlock(config_path: Path | None, extension: str) -> None:
    """End the operator's PIN lock-out and forget their wrong-PIN count (audited)."""

    async def main() -> bool:
        config = load_config(config_path)
        db = Database(config.database.url)
        try:
            await db.migrate()
            audit = AuditService(db)
            pattern = ExtensionPattern.parse(config.operators.pattern)
            ops = OperatorService(db, is_allowed=pattern.matches, audit=audit)
            if await ops.get(extension) is None:
                raise InvalidInput(f"{extension!r} is not an operator extension")
            guard = PinGuard.from_config(db, audit, config, is_allowed=ops.allowed)
            return await guard.unlock(extension, actor=cli_actor())
        finally:
            await db.close()

    try:
        cleared = asyncio.run(main())
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"operator {extension}: PIN lock cleared" if cleared else f"operator {extension}: PIN was not locked"
    )
