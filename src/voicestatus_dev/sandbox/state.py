"""What a sandbox instance remembers between commands: ports, secrets, PID.

``state.json`` lives in the instance directory so ``status``, the demo and
tests in other processes can find the credentials, and so the next ``up``
reuses the same ports and passwords (a softphone configured once keeps
working). Ports are chosen here: defaults for the instance named
``default``, otherwise the next port that no other running instance uses
and that is free right now.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from voicestatus_dev.sandbox.errors import SandboxPortInUse
from voicestatus_dev.sandbox.layout import PHONE_EXTENSIONS, RTP_PORTS_PER_INSTANCE

DEFAULT_NAME = "default"
DEFAULT_HTTP_PORT = 18088
DEFAULT_SIP_PORT = 15060
DEFAULT_AMI_PORT = 15038
DEFAULT_RTP_START = 30000
_SEARCH_SPAN = 500


@dataclass(frozen=True)
class PortRequest:
    """Ports a caller asked for; ``None`` means "choose one"."""

    http: int | None = None
    sip: int | None = None
    ami: int | None = None


@dataclass(frozen=True)
class InstanceState:
    name: str
    http_port: int
    sip_port: int
    ami_port: int
    rtp_start: int
    ari_password: str
    ami_password: str
    sip_passwords: dict[str, str]
    pid: int | None = None

    def with_pid(self, pid: int | None) -> InstanceState:
        return replace(self, pid=pid)


def load_state(path: Path) -> InstanceState | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return InstanceState(**raw)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        return None  # unreadable state: treat the instance as new


def save_state(path: Path, state: InstanceState) -> None:
    """Write atomically and readable by root only: the file holds passwords."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(state), handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)


def port_is_free(port: int, kind: int = socket.SOCK_STREAM) -> bool:
    """Whether 127.0.0.1:``port`` can be bound right now (TCP or UDP)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick(
    label: str,
    option: str,
    explicit: int | None,
    previous: int | None,
    default: int,
    kind: int,
    taken: set[int],
) -> int:
    if explicit is not None:
        if not port_is_free(explicit, kind):
            raise SandboxPortInUse(
                f"{label} port {explicit} is already in use on 127.0.0.1; choose another with {option}",
                details={"port": explicit, "option": option},
            )
        return explicit
    candidates: list[int | None] = [previous, *range(default, default + _SEARCH_SPAN)]
    for candidate in candidates:
        if candidate is None or candidate in taken or not 0 < candidate < 65536:
            continue
        if port_is_free(candidate, kind):
            return candidate
    raise SandboxPortInUse(
        f"no free {label} port in {default}-{default + _SEARCH_SPAN - 1}; choose one with {option}",
        details={"option": option},
    )


def allocate(
    name: str,
    previous: InstanceState | None,
    request: PortRequest,
    others: list[InstanceState],
) -> InstanceState:
    """Ports and secrets for the next start of ``name``.

    Secrets are kept from ``previous``; ports too, unless a caller asked for
    others or they are no longer free. ``others`` are the other instances of
    the same chroot that are running now; the default ports stay reserved
    for the instance named ``default`` so it always finds them.
    """
    taken = {p for o in others for p in (o.http_port, o.sip_port, o.ami_port)}
    if name != DEFAULT_NAME:
        taken |= {DEFAULT_HTTP_PORT, DEFAULT_SIP_PORT, DEFAULT_AMI_PORT}
    http = _pick("HTTP/ARI", "--http-port", request.http,
                 previous.http_port if previous else None, DEFAULT_HTTP_PORT,
                 socket.SOCK_STREAM, taken)  # fmt: skip
    taken.add(http)
    sip = _pick("SIP", "--sip-port", request.sip,
                previous.sip_port if previous else None, DEFAULT_SIP_PORT,
                socket.SOCK_DGRAM, taken)  # fmt: skip
    taken.add(sip)
    ami = _pick("AMI", "--ami-port", request.ami,
                previous.ami_port if previous else None, DEFAULT_AMI_PORT,
                socket.SOCK_STREAM, taken)  # fmt: skip
    rtp_taken = {o.rtp_start for o in others}
    if name != DEFAULT_NAME:
        rtp_taken.add(DEFAULT_RTP_START)
    if previous is not None and previous.rtp_start not in rtp_taken:
        rtp_start = previous.rtp_start
    else:
        rtp_start = DEFAULT_RTP_START
        while rtp_start in rtp_taken:
            rtp_start += RTP_PORTS_PER_INSTANCE
    if previous is not None:
        passwords = (previous.ari_password, previous.ami_password, previous.sip_passwords)
    else:
        passwords = (
            secrets.token_urlsafe(18),
            secrets.token_urlsafe(18),
            {ext: secrets.token_urlsafe(12) for ext in PHONE_EXTENSIONS},
        )
    return InstanceState(
        name=name,
        http_port=http,
        sip_port=sip,
        ami_port=ami,
        rtp_start=rtp_start,
        ari_password=passwords[0],
        ami_password=passwords[1],
        sip_passwords=dict(passwords[2]),
        pid=None,
    )
