"""``voicestatus demo``: the whole product on one machine, nothing to install.

Brings up the sandbox Asterisk (building it on first use), runs the service
against it with SQLite, and prints how to reach both. Ctrl-C or SIGTERM
stops the service and then the sandbox it started.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import signal
from pathlib import Path

import click

from voicestatus.config import (
    AriConfig,
    Config,
    DatabaseConfig,
    HttpConfig,
    MediaConfig,
    load_config,
)
from voicestatus.errors import VoiceStatusError
from voicestatus.services.accounts import AccountService, UnknownAdmin
from voicestatus.services.audit import Actor, AuditService
from voicestatus.storage.database import Database
from voicestatus_dev.sandbox import SandboxInfo


def demo_config(base: Config, info: SandboxInfo, *, listen: str, state_dir: Path) -> Config:
    """The service configuration that points at a sandbox (co-located: mirror and AstDB on)."""
    host, _, port = listen.rpartition(":")
    return base.replace(
        ari=AriConfig(
            url=info.ari_url, username=info.ari_username, password=info.ari_password, app=base.ari.app
        ),
        http=HttpConfig(listen=listen, public_url=f"http://{host or '127.0.0.1'}:{port}"),
        database=DatabaseConfig(url=f"sqlite:///{state_dir / 'voicestatus.db'}"),
        media=MediaConfig(dir=str(state_dir / "media")),
        asterisk=dataclasses.replace(
            base.asterisk,
            sounds_dir=str(info.sounds_dir),
            ami_url=f"tcp://{info.ami_host}:{info.ami_port}",
            ami_username=info.ami_username,
            ami_password=info.ami_password,
        ),
    )


@click.command()
@click.option("--name", default="demo", show_default=True, help="Sandbox instance name.")
@click.option("--listen", default="127.0.0.1:8080", show_default=True, help="Web UI/API address.")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=Path(".demo"),
    show_default=True,
    help="Where the demo keeps its database and media.",
)
@click.option("--keep-sandbox", is_flag=True, help="Leave the sandbox Asterisk running on exit.")
def demo(name: str, listen: str, state_dir: Path, keep_sandbox: bool) -> None:
    """Run Asterisk (sandbox) and the service together on this machine."""
    from voicestatus.app import run
    from voicestatus.asterisk.dialplan import render_dialplan
    from voicestatus_dev.sandbox import Sandbox

    # Until the service installs its own handlers, SIGTERM must still unwind
    # through the `finally` below, which stops the sandbox it started.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        base = load_config()
        sandbox = Sandbox(name)
        click.echo("Starting the sandbox Asterisk (the first start builds it, about a minute)...")
        info = sandbox.up(render_dialplan(base, "asterisk"), progress=click.echo)
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        config = demo_config(base, info, listen=listen, state_dir=state_dir.resolve())
        password = asyncio.run(demo_admin(config))
        click.echo(
            _banner(config, info.sip_host, info.sip_port, [(a.extension, a.password) for a in info.accounts])
        )
        click.echo(f"  Web UI login   : {DEMO_ADMIN} / {password}  (new password on every start)\n")
        run(config)
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        if not keep_sandbox:
            click.echo("Stopping the sandbox Asterisk...")
            sandbox.down()


DEMO_ADMIN = "admin"


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


async def demo_admin(config: Config) -> str:
    """Create (or reset) the demo's admin account; returns its new password.

    A supervisor opening the demo's web page needs a login; a fresh random
    password each start means nothing guessable is ever left listening.
    """
    password = secrets.token_urlsafe(12)
    actor = Actor("cli", "demo")
    db = Database(config.database.url)
    try:
        await db.migrate()
        accounts = AccountService(db, audit=AuditService(db))
        try:
            await accounts.set_password(DEMO_ADMIN, password, actor=actor)
        except UnknownAdmin:  # the first demo on this database
            await accounts.create_admin(DEMO_ADMIN, password, actor=actor)
    finally:
        await db.close()
    return password


def _banner(config: Config, sip_host: str, sip_port: int, accounts: list[tuple[str, str]]) -> str:
    lines = [
        "",
        "voicestatus demo is running. Press Ctrl-C to stop.",
        f"  Web UI and API : {config.http.public_url}/",
        f"  Health         : {config.http.public_url}/healthz",
        f"  Asterisk ARI   : {config.ari.url}  (user {config.ari.username})",
        f"  SIP registrar  : {sip_host}:{sip_port} (UDP)",
        f"  Feature code   : dial {config.phone.feature_code} from a softphone to record your status",
        "",
        "  Try it: register softphones 101 and 102, dial "
        f"{config.phone.feature_code} from 101, record, press 1 to accept;",
        f"  then call 101 from 102 and let it ring ({config.asterisk.ring_seconds} s), or unregister 101:",
        "  102 hears 101's message.",
        "",
        "  Softphone accounts (username = extension):",
    ]
    lines += [f"    {ext}  password {password}" for ext, password in accounts]
    lines.append("")
    return "\n".join(lines)
