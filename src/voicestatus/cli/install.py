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
from voicestatus.config import CONFIG_HELP, DEFAULT_CONFIG_PATH, Config, load_config
from voicestatus.config import config_path as config_path_of
from voicestatus.errors import VoiceStatusError
from voicestatus.safe_files import atomic_replace

UNIT_HEADER = """\
# systemd unit for the voicestatus service. Generated from voicestatus.cli.install
# (scripts/generate-unit.py); `voicestatus install --unit-file` writes the same text.
# Install, as root:
#   useradd --system --home-dir /var/lib/voicestatus --shell /usr/sbin/nologin voicestatus
#   install -d -o voicestatus -g voicestatus /var/lib/voicestatus /var/lib/voicestatus/media
#   chown root:voicestatus /etc/voicestatus/voicestatus.toml && chmod 0640 /etc/voicestatus/voicestatus.toml
#   cp deploy/voicestatus.service /etc/systemd/system/ && systemctl daemon-reload
#   systemctl enable --now voicestatus
# With [asterisk] sounds_dir (co-located mirror), add its voicestatus directory to
# ReadWritePaths (voicestatus install --unit-file does it from the configuration).
"""

# The one source of the unit: `install --unit-file/--print` fill it from the
# configuration, deploy/voicestatus.service is it with the defaults (a test
# keeps them identical). The service needs its state directory, the network
# and nothing else; everything else is taken away.
UNIT = """\
[Unit]
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

# Hardening: the service needs its state directory, the network and nothing else.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/lib/voicestatus{extra_paths}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectProc=invisible
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM
CapabilityBoundingSet=
AmbientCapabilities=
UMask=0027
MemoryMax=1G
TasksMax=128

[Install]
WantedBy=multi-user.target
"""

DEFAULT_USER = "voicestatus"
STATE_DIR = Path("/var/lib/voicestatus")
DEFAULT_CONFIG_FILE = str(DEFAULT_CONFIG_PATH)
DEFAULT_EXE = "/opt/voicestatus/bin/voicestatus"


def _exe() -> str:
    beside = Path(sys.executable).parent / "voicestatus"
    found = str(beside) if beside.is_file() else shutil.which("voicestatus")
    return found or f"{sys.executable} -m voicestatus"


def render_unit(*, user: str, config_file: str, exe: str, extra_paths: tuple[str, ...] = ()) -> str:
    """The unit text; extra writable paths are optional (``-``): a missing one is no start failure."""
    extra = "".join(f" -{path}" for path in extra_paths)
    return UNIT.format(user=user, config=config_file, exe=exe, extra_paths=extra)


def writable_paths(config: Config) -> tuple[str, ...]:
    """What the service writes outside ``/var/lib/voicestatus`` (``ProtectSystem=strict`` blocks the rest).

    The co-located mirror's directory, and the media directory and SQLite
    database when configured somewhere else; relative paths are under the
    unit's working directory, ``/var/lib/voicestatus``, already.
    """
    paths: list[str] = []
    if config.asterisk.sounds_dir:
        paths.append(f"{config.asterisk.sounds_dir.rstrip('/')}/voicestatus")
    elsewhere = [Path(config.media.dir)]
    if config.database.url.startswith("sqlite:///"):
        elsewhere.append(Path(config.database.url[len("sqlite:///") :]).parent)
    for path in elsewhere:
        if path.is_absolute() and not path.is_relative_to(STATE_DIR) and str(path) not in paths:
            paths.append(str(path))
    return tuple(paths)


def unit_text(config: Config, *, user: str, config_file: str) -> str:
    return render_unit(user=user, config_file=config_file, exe=_exe(), extra_paths=writable_paths(config))


def deploy_unit_text() -> str:
    """``deploy/voicestatus.service``: the unit with the defaults of the README's deploy steps."""
    unit = render_unit(user=DEFAULT_USER, config_file=DEFAULT_CONFIG_FILE, exe=DEFAULT_EXE)
    return UNIT_HEADER + unit


def asterisk_text(config: Config, *, config_file: str = DEFAULT_CONFIG_FILE) -> str:
    ari = urlsplit(config.ari.url)
    # Never the secret itself: this output lands in terminals, tickets and chat.
    password = (
        f"<the [ari] password from {config_file}>"
        if config.ari.password
        else "CHANGE-ME (and put the same in [ari] password)"
    )
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
    "--user", default=DEFAULT_USER, show_default=True, help="The unprivileged user the service runs as."
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=CONFIG_HELP)  # fmt: skip
def install(print_all: bool, unit_file: Path | None, user: str, config_path: Path | None) -> None:
    """Show (or write) what a real PBX host needs: systemd unit, ari.conf, http.conf, dialplan."""
    if not print_all and unit_file is None:
        raise click.UsageError("use --print to see everything, or --unit-file PATH to write the unit")
    try:
        config = load_config(config_path)
        config_file = str(config_path_of(config_path).resolve())
        unit = unit_text(config, user=user, config_file=config_file)
        if unit_file is not None:
            atomic_replace(unit_file, unit)
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
        click.echo(f"#    chown root:{user} {config_file} && chmod 0640 {config_file}")
        click.echo("# 2. /etc/systemd/system/voicestatus.service:")
        click.echo(unit)
        click.echo("# 3. Asterisk:")
        click.echo(asterisk_text(config, config_file=config_file))
