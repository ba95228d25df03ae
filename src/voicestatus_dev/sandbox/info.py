"""What an instance's ``state.json`` is turned into for the code that uses it.

Tests, the demo, benchmarks and ``voicestatus sandbox status --json`` read a
``SandboxInfo``; the config writers read an ``InstanceLayout``. Both are
pure projections of the same saved state (ports, passwords, PID) plus the
instance's paths, so they are built here, apart from ``Sandbox``, which
decides when to start and stop Asterisk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicestatus_dev.sandbox.layout import InstanceLayout, SipAccount
from voicestatus_dev.sandbox.state import InstanceState

USERNAME = "voicestatus"


@dataclass(frozen=True)
class SandboxInfo:
    """How to reach one sandbox instance; ``running`` is False when it is down."""

    name: str
    running: bool
    pid: int | None
    root: Path
    ari_url: str
    ari_username: str
    ari_password: str
    ami_host: str
    ami_port: int
    ami_username: str
    ami_password: str
    sip_host: str
    sip_port: int
    accounts: tuple[SipAccount, ...]
    sounds_dir: Path
    log_file: Path

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "running": self.running,
            "pid": self.pid,
            "root": str(self.root),
            "ari_url": self.ari_url,
            "ari_username": self.ari_username,
            "ari_password": self.ari_password,
            "ami_host": self.ami_host,
            "ami_port": self.ami_port,
            "ami_username": self.ami_username,
            "ami_password": self.ami_password,
            "sip_host": self.sip_host,
            "sip_port": self.sip_port,
            "accounts": [{"extension": a.extension, "password": a.password} for a in self.accounts],
            "sounds_dir": str(self.sounds_dir),
            "log_file": str(self.log_file),
        }


def describe(name: str, root: Path, host_base: Path, state: InstanceState, *, running: bool) -> SandboxInfo:
    """The ``SandboxInfo`` of the instance whose tree is ``host_base`` inside ``root``."""
    return SandboxInfo(
        name=name,
        running=running,
        pid=state.pid if running else None,
        root=root,
        ari_url=f"http://127.0.0.1:{state.http_port}",
        ari_username=USERNAME,
        ari_password=state.ari_password,
        ami_host="127.0.0.1",
        ami_port=state.ami_port,
        ami_username=USERNAME,
        ami_password=state.ami_password,
        sip_host="127.0.0.1",
        sip_port=state.sip_port,
        accounts=_accounts(state),
        sounds_dir=host_base / "data/sounds",
        log_file=host_base / "log/messages.log",
    )


def layout(state: InstanceState, *, base: str, module_dir: str) -> InstanceLayout:
    """What the config writers need: ``base`` is the instance directory inside the chroot."""
    return InstanceLayout(
        base=base,
        module_dir=module_dir,
        http_port=state.http_port,
        sip_port=state.sip_port,
        ami_port=state.ami_port,
        rtp_start=state.rtp_start,
        ari_username=USERNAME,
        ari_password=state.ari_password,
        ami_username=USERNAME,
        ami_password=state.ami_password,
        accounts=_accounts(state),
    )


def _accounts(state: InstanceState) -> tuple[SipAccount, ...]:
    return tuple(SipAccount(ext, pw) for ext, pw in sorted(state.sip_passwords.items()))
