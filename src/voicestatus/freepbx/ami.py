"""Read-only questions to Asterisk over AMI: CLI commands and their output.

Two things the product must know are not in ARI: the AstDB keys of a seed
installation (``database show op_alert``; ARI's ``/asterisk/variable`` does
not evaluate ``DB()``) and whether our dialplan contexts are loaded
(``dialplan show <context>``). AMI's ``Command`` action answers both, with the
output as ``Output:`` lines (Asterisk 14 and later). Commands are fixed
strings built from checked names; nothing from a caller ever reaches one.
The manager user needs ``write = command`` (and ``read = command``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from urllib.parse import urlsplit

from voicestatus.config import AsteriskConfig
from voicestatus.errors import ConfigError, VoiceStatusError

_SAFE_ARG = re.compile(r"[A-Za-z0-9_/.-]{1,80}", re.ASCII)


class AmiError(VoiceStatusError):
    """AMI was unreachable, refused the login, or refused the command."""

    error_id = "asterisk-ami-error"


class AmiCommands:
    """One short-lived AMI connection per question; nothing stays open."""

    def __init__(self, url: str, username: str, password: str, *, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "tcp" or not parts.hostname or parts.port is None:
            raise ConfigError(f"[asterisk] ami_url must look like tcp://host:port, not {url!r}")
        if not username or any(c in username + password for c in "\r\n"):
            raise ConfigError(
                "set [asterisk] ami_username and ami_password (a manager.conf user with command rights)"
            )
        self.host, self.port = parts.hostname, parts.port
        self.username, self.password = username, password
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: AsteriskConfig) -> AmiCommands:
        return cls(config.ami_url, config.ami_username, config.ami_password)

    async def command(self, *words: str) -> list[str]:
        """Run a CLI command (each word checked) and return its output lines."""
        for word in words:
            if not _SAFE_ARG.fullmatch(word):
                raise ValueError(f"unsafe CLI argument {word!r}")
        try:
            return await asyncio.wait_for(self._run(" ".join(words)), self.timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            raise AmiError(
                f"AMI at {self.host}:{self.port} is unreachable ({exc!r}); check [asterisk] ami_url "
                "and that manager.conf has enabled = yes"
            ) from exc

    async def _run(self, command: str) -> list[str]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            await reader.readline()
            login = {"Action": "Login", "Username": self.username, "Secret": self.password, "Events": "off"}
            reply = await _send(reader, writer, login, "login")
            if reply.get("response", [""])[0].lower() != "success":
                raise AmiError("AMI refused the login (check [asterisk] ami_username/ami_password)")
            reply = await _send(reader, writer, {"Action": "Command", "Command": command}, "cmd")
            message = reply.get("message", [""])[0]
            # A command that fails (e.g. an unknown context) still answers with its output.
            if reply.get("response", [""])[0].lower() != "success" and "output" not in message.lower():
                raise AmiError(f"AMI refused {command!r}: {message} (the user needs write = command)")
            with contextlib.suppress(Exception):
                await _send(reader, writer, {"Action": "Logoff"}, "logoff")
            return reply.get("output", [])
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _send(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, action: dict[str, str], action_id: str
) -> dict[str, list[str]]:
    """Send one action; return the response packet with our ActionID (headers may repeat)."""
    lines = [f"{k}: {v}" for k, v in action.items()] + [f"ActionID: {action_id}"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    while True:
        packet: dict[str, list[str]] = {}
        while True:
            line = (await reader.readuntil(b"\n")).decode(errors="replace").rstrip("\r\n")
            if not line:
                break
            name, _, value = line.partition(":")
            packet.setdefault(name.strip().lower(), []).append(value[1:] if value.startswith(" ") else value)
        if packet.get("actionid") == [action_id] and "response" in packet:
            return packet
