"""``voicestatus admin create|passwd|token|tokens|revoke-token``: accounts and API tokens.

No running service is needed: the commands open the configured database,
migrate it if necessary, change it and exit. Changes are audited as ``cli``.
A running service notices a revoked token within ``TOKEN_MEMORY_SECONDS``
(it trusts a verified token that long), so a leaked token is shut off from
here without restarting anything.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import click

from voicestatus.cli.secret_input import read_secret, secret_options
from voicestatus.config import CONFIG_HELP, load_config
from voicestatus.errors import VoiceStatusError
from voicestatus.services.accounts import TOKEN_MEMORY_SECONDS, AccountService
from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.tokens import TokenAdmin, TokenView
from voicestatus.storage.database import Database

T = TypeVar("T")

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help=CONFIG_HELP,
)


def cli_actor() -> Actor:
    return Actor("cli", getpass.getuser())


def _run(config_path: Path | None, work: Callable[[Database, AuditService], Awaitable[T]]) -> T:
    async def main() -> T:
        config = load_config(config_path)
        db = Database(config.database.url)
        try:
            await db.migrate()
            return await work(db, AuditService(db))
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc


def run_with_accounts(config_path: Path | None, work: Callable[[AccountService], Awaitable[T]]) -> T:
    return _run(config_path, lambda db, audit: work(AccountService(db, audit=audit)))


def run_with_tokens(config_path: Path | None, work: Callable[[TokenAdmin], Awaitable[T]]) -> T:
    return _run(config_path, lambda db, audit: work(TokenAdmin(db, audit=audit)))


def _password(given: str | None, from_stdin: bool) -> str:
    return read_secret("Password", given=given, from_stdin=from_stdin, confirm=True)


@click.group()
def admin() -> None:
    """Administrator accounts for the web UI, and API tokens (create, list, revoke)."""


@admin.command()
@config_option
@click.option("--username", required=True, help="The new admin's login name.")
@secret_options("password", what="password")
def create(config_path: Path | None, username: str, password: str | None, password_stdin: bool) -> None:
    """Create an administrator (the password is prompted for, or read with --password-stdin)."""
    secret = _password(password, password_stdin)
    view = run_with_accounts(config_path, lambda acc: acc.create_admin(username, secret, actor=cli_actor()))
    click.echo(f"admin {view.username} created")


@admin.command()
@config_option
@click.option("--username", required=True)
@secret_options("password", what="password")
def passwd(config_path: Path | None, username: str, password: str | None, password_stdin: bool) -> None:
    """Change an administrator's password (logs out their web sessions).

    The new password is prompted for, or read with --password-stdin.
    """
    secret = _password(password, password_stdin)
    run_with_accounts(config_path, lambda acc: acc.set_password(username, secret, actor=cli_actor()))
    click.echo(f"password of {username} changed")


@admin.command()
@config_option
@click.option("--username", required=True, help="The admin the token acts as.")
@click.option("--name", default="api", show_default=True, help="What the token is for.")
def token(config_path: Path | None, username: str, name: str) -> None:
    """Print a new API token (the last line); use it as 'Authorization: Bearer <token>'.

    'admin tokens' lists tokens by id, 'admin revoke-token ID' revokes one.
    """
    secret = run_with_accounts(
        config_path, lambda acc: acc.create_token(username, name=name, actor=cli_actor())
    )
    click.echo(f"API token for {username} ({name}); it is shown only once:")
    click.echo(secret)


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="minutes") if moment is not None else "-"


def _token_json(view: TokenView) -> dict[str, object]:
    return {
        "id": view.id, "admin": view.admin, "name": view.name,
        "created_at": view.created_at.isoformat(),
        "last_used_at": view.last_used_at.isoformat() if view.last_used_at else None,
        "revoked": view.revoked,
        "revoked_at": view.revoked_at.isoformat() if view.revoked_at else None,
    }  # fmt: skip


@admin.command()
@config_option
@click.option("--username", default=None, help="Only this admin's tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tokens(config_path: Path | None, username: str | None, as_json: bool) -> None:
    """List API tokens by id (never the secret); revoked ones are marked."""
    views = run_with_tokens(config_path, lambda adm: adm.list(username))
    if as_json:
        click.echo(json.dumps([_token_json(v) for v in views], indent=2))
        return
    click.echo(f"{'ID':<6} {'ADMIN':<16} {'CREATED':<23} {'LAST USED':<23} {'REVOKED':<23} NAME")
    for v in views:
        created, used, revoked = _when(v.created_at), _when(v.last_used_at), _when(v.revoked_at)
        click.echo(f"{v.id:<6} {v.admin:<16} {created:<23} {used:<23} {revoked:<23} {v.name}")


@admin.command(
    "revoke-token",
    help=f"Revoke the API token with this id (see 'admin tokens'). A running service refuses it "
    f"within {TOKEN_MEMORY_SECONDS:g} s (it trusts a verified token that long); no restart needed.",
)
@config_option
@click.argument("token_id", metavar="ID", type=int)
def revoke_token(config_path: Path | None, token_id: int) -> None:
    view, revoked = run_with_tokens(config_path, lambda adm: adm.revoke(token_id, actor=cli_actor()))
    label = f"API token {view.id} ({view.admin}, {view.name})"
    if not revoked:
        click.echo(f"{label} was already revoked at {_when(view.revoked_at)}; nothing changed")
        return
    click.echo(f"{label} revoked; the service refuses it within {TOKEN_MEMORY_SECONDS:g} s")
