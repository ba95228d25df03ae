"""``voicestatus admin create|passwd|token``: web/API accounts, straight in the database.

No running service is needed: the commands open the configured database,
migrate it if necessary, change it and exit. Changes are audited as ``cli``.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from voicestatus.config import load_config
from voicestatus.errors import VoiceStatusError
from voicestatus.services.accounts import AccountService
from voicestatus.services.audit import Actor, AuditService
from voicestatus.storage.database import Database

T = TypeVar("T")

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="TOML configuration (default: $VOICESTATUS_CONFIG or ./voicestatus.toml).",
)


def cli_actor() -> Actor:
    return Actor("cli", getpass.getuser())


def run_with_accounts(config_path: Path | None, work: Callable[[AccountService], Awaitable[T]]) -> T:
    async def main() -> T:
        config = load_config(config_path)
        db = Database(config.database.url)
        try:
            await db.migrate()
            return await work(AccountService(db, audit=AuditService(db)))
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc


def _password(given: str | None) -> str:
    if given is not None:
        return given
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@click.group()
def admin() -> None:
    """Administrator accounts for the web UI and API tokens."""


@admin.command()
@config_option
@click.option("--username", required=True, help="The new admin's login name.")
@click.option("--password", default=None, help="The password (prompted for when omitted).")
def create(config_path: Path | None, username: str, password: str | None) -> None:
    """Create an administrator."""
    secret = _password(password)
    view = run_with_accounts(config_path, lambda acc: acc.create_admin(username, secret, actor=cli_actor()))
    click.echo(f"admin {view.username} created")


@admin.command()
@config_option
@click.option("--username", required=True)
@click.option("--password", default=None, help="The new password (prompted for when omitted).")
def passwd(config_path: Path | None, username: str, password: str | None) -> None:
    """Change an administrator's password (logs out their web sessions)."""
    secret = _password(password)
    run_with_accounts(config_path, lambda acc: acc.set_password(username, secret, actor=cli_actor()))
    click.echo(f"password of {username} changed")


@admin.command()
@config_option
@click.option("--username", required=True, help="The admin the token acts as.")
@click.option("--name", default="api", show_default=True, help="What the token is for.")
def token(config_path: Path | None, username: str, name: str) -> None:
    """Print a new API token (the last line); use it as 'Authorization: Bearer <token>'."""
    secret = run_with_accounts(
        config_path, lambda acc: acc.create_token(username, name=name, actor=cli_actor())
    )
    click.echo(f"API token for {username} ({name}); it is shown only once:")
    click.echo(secret)
