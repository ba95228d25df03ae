"""``voicestatus install``: what an admin adds on a real PBX host.

Printed from the live configuration, so the ARI user, the HTTP bind and the
AMI user match what the service will use, and the systemd unit runs the
executable that printed it. Nothing is written unless asked (``--unit-file``):
the Asterisk side belongs to the admin.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from voicestatus.asterisk.dialplan_text import MENU_CONTEXT
from voicestatus.cli.dialplan import write_atomically
from voicestatus.config import Config, load_config
from voicestatus.errors import VoiceStatusError

UNIT = """[Unit]
Description=voicestatus: personal voice status messages for Asterisk operators
After=network-online.target asterisk.service
Wants=network-online.target

[Service]
Type=exec
User={user}
Group={user}
WorkingDirectory=/var/lib/voicestatus
Environment=VOICESTATUS_CONFIG={config}
ExecStart={exe} serve
Restart=on-failure
RestartSec=2s
TimeoutStopSec=15s
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
SystemCallFilter=@system-service
CapabilityBoundingSet=
UMask=0027
ReadWritePaths=/var/lib/voicestatus{extra_paths}

[Install]
WantedBy=multi-user.target
"""


def _exe() -> str:
    beside = Path(sys.executable).parent / "voicestatus"
    found = str(beside) if beside.is_file() else shutil.which("voicestatus")
    return found or f"{sys.executable} -m voicestatus"


def unit_text(config: Config, *, user: str, config_file: str) -> str:
    extra = f" {config.asterisk.sounds_dir}/voicestatus" if config.asterisk.sounds_dir else ""
    return UNIT.format(user=user, config=config_file, exe=_exe(), extra_paths=extra)


def asterisk_text(config: Config) -> str:
    ari = urlsplit(config.ari.url)
    password = config.ari.password or "CHANGE-ME (and put the same in [ari] password)"
    lines = [
        "; /etc/asterisk/http.conf (FreePBX: Settings > Advanced Settings > HTTP, or http_custom.conf)",
        "[general]",
        "enabled = yes",
        f"bindaddr = {ari.hostname or '127.0.0.1'}",
        f"bindport = {ari.port or 8088}",
        "",
        "; /etc/asterisk/ari.conf (FreePBX: ari_additional_custom.conf)",
        "[general]",
        "enabled = yes",
        f"[{config.ari.username}]",
        "type = user",
        "read_only = no",
        f"password = {password}",
    ]
    if config.asterisk.ami_username:
        ami = urlsplit(config.asterisk.ami_url)
        lines += [
            "",
            "; /etc/asterisk/manager.conf (FreePBX: manager_custom.conf): AstDB mirror, doctor, import",
            f"[{config.asterisk.ami_username}]",
            "secret = (the same as [asterisk] ami_password)",
            "deny = 0.0.0.0/0.0.0.0",
            f"permit = {ami.hostname or '127.0.0.1'}/255.255.255.255",
            "read = system,command",
            "write = system,command",
        ]
    lines += [
        "",
        "; The dialplan. FreePBX:",
        ";   voicestatus freepbx dialplan          (a marked block in extensions_custom.conf)",
        ";   voicestatus freepbx apply --extensions 101-199",
        "; Plain Asterisk:",
        ";   voicestatus dialplan --target asterisk -o /etc/asterisk/voicestatus.conf",
        ";   in extensions.conf:  #include voicestatus.conf",
        f";   in the phones' context:  include => {MENU_CONTEXT}",
        ";   ring operators through [voicestatus-dial]",
        "; Then: asterisk -rx 'core reload' (FreePBX: fwconsole reload), and: voicestatus doctor",
    ]
    return "\n".join(lines) + "\n"


@click.command()
@click.option(
    "--print", "print_all", is_flag=True, help="Print the systemd unit and the Asterisk configuration."
)
@click.option("--unit-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the systemd unit here (e.g. /etc/systemd/system/voicestatus.service).")  # fmt: skip
@click.option(
    "--user", default="voicestatus", show_default=True, help="The unprivileged user the service runs as."
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Configuration file (default: $VOICESTATUS_CONFIG or ./voicestatus.toml).")  # fmt: skip
def install(print_all: bool, unit_file: Path | None, user: str, config_path: Path | None) -> None:
    """Show (or write) what a real PBX host needs: systemd unit, ari.conf, http.conf, dialplan."""
    if not print_all and unit_file is None:
        raise click.UsageError("use --print to see everything, or --unit-file PATH to write the unit")
    try:
        config = load_config(config_path)
        config_file = str(Path(config_path).resolve()) if config_path else "/etc/voicestatus/voicestatus.toml"
        unit = unit_text(config, user=user, config_file=config_file)
        if unit_file is not None:
            write_atomically(unit_file, unit)
            click.echo(
                f"Wrote {unit_file}. Now: systemctl daemon-reload && systemctl enable --now voicestatus"
            )
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write {unit_file}: {exc.strerror or exc}") from exc
    if print_all:
        click.echo("# 1. The service user and its state directory (as root):")
        click.echo(f"#    useradd --system --home-dir /var/lib/voicestatus --shell /usr/sbin/nologin {user}")
        click.echo(f"#    install -d -o {user} -g {user} /var/lib/voicestatus")
        click.echo("# 2. /etc/systemd/system/voicestatus.service:")
        click.echo(unit)
        click.echo("# 3. Asterisk:")
        click.echo(asterisk_text(config))
