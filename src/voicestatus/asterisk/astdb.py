"""Writes Asterisk's AstDB over AMI, for the co-located mirror's keys.

ARI cannot do it: ``POST /asterisk/variable?variable=DB(...)`` is answered
204 but Asterisk refuses it ("Dangerous function DB write blocked") unless
``live_dangerously`` is on, which no admin should enable for this. AMI's
``DBPut``/``DBDel`` are the supported way. The client is deliberately tiny:
one short-lived connection per batch of changes (mirror writes are rare),
login, the actions, logoff. Families, keys and values are checked against a
strict alphabet first, because AMI is a line protocol and a CR or LF in a
value would become another header.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from voicestatus.errors import ConfigError, VoiceStatusError

log = logging.getLogger(__name__)

_SAFE = re.compile(r"[A-Za-z0-9_/.-]{1,128}", re.ASCII)


class AstDbError(VoiceStatusError):
    """AMI was unreachable or refused the login or an action."""


@dataclass(frozen=True)
class AstDbChange:
    """Set ``family/key`` to ``value``, or delete it when ``value`` is None."""

    family: str
    key: str
    value: str | None


class AmiAstDb:
    """AstDB writes through the Asterisk Manager Interface."""

    def __init__(self, url: str, username: str, password: str, *, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "tcp" or not parts.hostname or parts.port is None:
            raise ConfigError(f"[asterisk] ami_url must look like tcp://host:port, not {url!r}")
        if not username or any(c in username + password for c in "\r\n"):
            raise ConfigError("[asterisk] ami_username/ami_password must be set and on one line")
        self.host, self.port = parts.hostname, parts.port
        self.username, self.password = username, password
        self.timeout = timeout

    async def apply(self, changes: Iterable[AstDbChange]) -> None:
        """Apply the changes in order over one connection; raises AstDbError."""
        actions: list[dict[str, str]] = []
        for change in changes:
            for part in (change.family, change.key, change.value or "x"):
                if not _SAFE.fullmatch(part):
                    raise ValueError(f"unsafe AstDB name or value: {part!r}")
            if change.value is None:
                actions.append({"Action": "DBDel", "Family": change.family, "Key": change.key})
            else:
                actions.append(
                    {"Action": "DBPut", "Family": change.family, "Key": change.key, "Val": change.value}
                )
        if not actions:
            return
        try:
            await asyncio.wait_for(self._run(actions), self.timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            raise AstDbError(f"AMI at {self.host}:{self.port} is unreachable: {exc!r}") from exc

    async def _run(self, actions: list[dict[str, str]]) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            await reader.readline()  # "Asterisk Call Manager/x.y"
            login = {"Action": "Login", "Username": self.username, "Secret": self.password, "Events": "off"}
            reply = await self._send(reader, writer, login, "login")
            if reply.get("response", "").lower() != "success":
                raise AstDbError("AMI refused the login (check [asterisk] ami_username/ami_password)")
            for number, action in enumerate(actions):
                reply = await self._send(reader, writer, action, f"vs-{number}")
                ok = reply.get("response", "").lower() == "success"
                # Deleting a key that is not there is answered "could not be deleted".
                missing = action["Action"] == "DBDel" and "deleted" in reply.get("message", "").lower()
                if not ok and not missing:
                    raise AstDbError(f"AMI {action['Action']} failed: {reply.get('message', '')!r}")
            with contextlib.suppress(Exception):
                await self._send(reader, writer, {"Action": "Logoff"}, "logoff")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _send(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, action: dict[str, str], action_id: str
    ) -> dict[str, str]:
        """Send one action; return the response packet with the same ActionID."""
        lines = [f"{k}: {v}" for k, v in action.items()] + [f"ActionID: {action_id}"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        while True:
            packet: dict[str, str] = {}
            while True:
                line = (await reader.readuntil(b"\n")).decode(errors="replace").strip()
                if not line:
                    break
                name, _, value = line.partition(":")
                packet[name.strip().lower()] = value.strip()
            if packet.get("actionid") == action_id and "response" in packet:
                return packet
