"""``voicestatus sandbox``: a real Asterisk on loopback for trying the product.

Thin over ``voicestatus_dev.sandbox``: the commands only parse options,
call the API and print what a person needs to point a softphone or the
service at the sandbox.
"""

from __future__ import annotations

import json

import click

from voicestatus.errors import VoiceStatusError
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

_name_option = click.option("--name", default="default", show_default=True, help="Sandbox instance name.")


def _show(info: SandboxInfo, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(info.to_json(), indent=2))
        return
    state = f"running (PID {info.pid})" if info.running else "not running"
    click.echo(f"Sandbox {info.name!r}: {state}")
    if not info.ari_password:
        click.echo("  never started; run `voicestatus sandbox up`")
        return
    click.echo(f"  ARI       {info.ari_url}  user {info.ari_username}  password {info.ari_password}")
    click.echo(f"  AMI       {info.ami_host}:{info.ami_port}  user {info.ami_username}  "
               f"secret {info.ami_password}")  # fmt: skip
    click.echo(f"  SIP       {info.sip_host}:{info.sip_port} (UDP)")
    click.echo(f"  sounds    {info.sounds_dir}")
    click.echo(f"  log       {info.log_file}")
    click.echo("  Extension  Password")
    for account in info.accounts:
        click.echo(f"  {account.extension:<10} {account.password}")


@click.group()
def sandbox() -> None:
    """Run a real Asterisk 22 on 127.0.0.1 for tests and the demo (needs root)."""


@sandbox.command()
@_name_option
@click.option("--http-port", type=click.IntRange(1, 65535), help="ARI/HTTP port (default 18088).")
@click.option("--sip-port", type=click.IntRange(1, 65535), help="SIP UDP port (default 15060).")
@click.option("--ami-port", type=click.IntRange(1, 65535), help="AMI port (default 15038).")
@click.option("--json", "as_json", is_flag=True, help="Print the connection details as JSON.")
def up(name: str, http_port: int | None, sip_port: int | None, ami_port: int | None, as_json: bool) -> None:
    """Build (first time, about a minute) and start the sandbox Asterisk."""
    from voicestatus.asterisk.dialplan import render_dialplan
    from voicestatus.config import load_config

    try:
        dialplan = render_dialplan(load_config(), "asterisk")
        box = Sandbox(name, http_port=http_port, sip_port=sip_port, ami_port=ami_port)
        info = box.up(dialplan, progress=lambda message: click.echo(message, err=True))
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    _show(info, as_json)


@sandbox.command()
@_name_option
def down(name: str) -> None:
    """Stop the sandbox Asterisk."""
    try:
        Sandbox(name).down()
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Sandbox {name!r} stopped")


@sandbox.command()
@_name_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def status(name: str, as_json: bool) -> None:
    """Show whether the sandbox runs and how to reach it."""
    try:
        info = Sandbox(name).status()
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    _show(info, as_json)
