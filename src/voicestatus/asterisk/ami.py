"""A small asyncio client for the Asterisk Manager Interface (AMI).

voicestatus talks to Asterisk through ARI, but three things are only in AMI:
writing AstDB (ARI refuses ``DB()`` writes as "dangerous" unless
``live_dangerously`` is on), reading the AstDB keys of a legacy installation
(ARI does not evaluate ``DB()`` reads either) and CLI output such as
``dialplan show <context>``. These are rare (an import, a doctor run, a
message change), so a client is one short-lived login used as
``async with AmiClient(...) as ami:`` and nothing stays open.

AMI is a line protocol: a CR or LF inside a value would start another header,
so every value is checked before anything is sent, and CLI words are limited
to a strict alphabet. The secret is sent once, at login, and never logged.
Errors map onto the exception tree::

    VoiceStatusError
    └── AmiError             anything that went wrong talking to AMI
        ├── AmiUnreachable   connect/read failures, timeouts, the socket closed
        ├── AmiAuthError     the login was refused
        └── AmiActionError   Asterisk answered an action with ``Response: Error``
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from voicestatus.config import AsteriskConfig
from voicestatus.errors import ConfigError, VoiceStatusError

log = logging.getLogger(__name__)

_CLI_WORD = re.compile(r"[A-Za-z0-9_/.-]{1,80}", re.ASCII)


class AmiError(VoiceStatusError):
    """Talking to the Asterisk Manager Interface failed."""

    error_id = "asterisk-ami-error"
    status_code = 502


class AmiUnreachable(AmiError):
    """AMI did not answer: connection refused, timeout, socket closed."""

    error_id = "asterisk-ami-unreachable"
    status_code = 503


class AmiAuthError(AmiError):
    """AMI refused our manager.conf user or secret."""

    error_id = "asterisk-ami-unauthorized"


class AmiActionError(AmiError):
    """AMI answered an action with an error (often: the user lacks the rights)."""

    error_id = "asterisk-ami-action-failed"


@dataclass(frozen=True)
class AmiPacket:
    """One AMI message: its headers in order (a name may repeat, like ``Output``)."""

    headers: tuple[tuple[str, str], ...]

    def get(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), default)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def ok(self) -> bool:
        return self.get("Response").lower() == "success"


class AmiClient:
    """One AMI login: ``async with`` connects and logs in, leaving logs off."""

    def __init__(self, url: str, username: str, password: str, *, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "tcp" or not parts.hostname or parts.port is None:
            raise ConfigError(f"[asterisk] ami_url must look like tcp://host:port, not {url!r}")
        if not username or any(c in username + password for c in "\r\n"):
            raise ConfigError(
                "set [asterisk] ami_username and ami_password, each on one line (a manager.conf user)"
            )
        self.host, self.port = parts.hostname, parts.port
        self.username = username
        self._password = password
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    @classmethod
    def from_config(cls, config: AsteriskConfig) -> AmiClient:
        return cls(config.ami_url, config.ami_username, config.ami_password)

    def __repr__(self) -> str:
        return f"AmiClient({self.host}:{self.port}, user={self.username!r})"

    async def __aenter__(self) -> AmiClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the connection, read the banner and log in (events off)."""
        if self._writer is not None:
            raise RuntimeError("this AMI client is already connected")
        where = f"{self.host}:{self.port}"
        try:
            async with asyncio.timeout(self.timeout):
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
                banner = (await self._reader.readline()).decode(errors="replace")
        except (OSError, TimeoutError) as exc:
            await self._drop()
            raise AmiUnreachable(
                f"AMI at {where} is unreachable ({type(exc).__name__}); check [asterisk] ami_url "
                "and that manager.conf has enabled = yes"
            ) from exc
        if not banner.startswith("Asterisk Call Manager"):
            await self._drop()
            raise AmiUnreachable(f"{where} did not greet like AMI; check [asterisk] ami_url")
        login = {"Username": self.username, "Secret": self._password, "Events": "off"}
        try:
            reply, _ = await self._exchange("Login", login)
        except AmiError:
            await self._drop()
            raise
        if not reply.ok:
            await self._drop()
            raise AmiAuthError(
                f"AMI refused the login of user {self.username!r} "
                "(check [asterisk] ami_username/ami_password and permit= in manager.conf)"
            )

    async def close(self) -> None:
        """Log off politely when still logged in, then close; never raises."""
        if self._reader is not None and self._writer is not None:
            with contextlib.suppress(AmiError):
                await self._exchange("Logoff", {}, timeout=1.0)
        await self._drop()

    async def _drop(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def action(self, name: str, headers: Mapping[str, str] | None = None) -> AmiPacket:
        """Send one action; return its response or raise AmiActionError."""
        reply, _ = await self._exchange(name, headers or {})
        if not reply.ok:
            raise AmiActionError(f"AMI {name} failed: {reply.get('Message')!r}")
        return reply

    async def command(self, *words: str) -> list[str]:
        """Run a CLI command (each word checked) and return its output lines."""
        for word in words:
            if not _CLI_WORD.fullmatch(word):
                raise ValueError(f"unsafe CLI argument {word!r}")
        line = " ".join(words)
        reply, _ = await self._exchange("Command", {"Command": line})
        # A command that fails (an unknown context, say) still answers with its output.
        if not reply.ok and "output" not in reply.get("Message").lower():
            raise AmiActionError(
                f"AMI refused {line!r}: {reply.get('Message')!r} (the user needs write = command)"
            )
        return reply.all("Output")

    async def db_get(self, family: str, key: str) -> str | None:
        """An AstDB value, or None when the key is not there."""
        reply, events = await self._exchange("DBGet", {"Family": family, "Key": key}, listing=True)
        if not reply.ok:
            if "not found" in reply.get("Message").lower():
                return None
            raise AmiActionError(f"AMI DBGet failed: {reply.get('Message')!r}")
        return next((e.get("Val") for e in events if e.get("Event") == "DBGetResponse"), None)

    async def db_put(self, family: str, key: str, value: str) -> None:
        await self.action("DBPut", {"Family": family, "Key": key, "Val": value})

    async def db_del(self, family: str, key: str) -> bool:
        """Delete an AstDB key; False when it was not there."""
        reply, _ = await self._exchange("DBDel", {"Family": family, "Key": key})
        if reply.ok:
            return True
        if "delete" in reply.get("Message").lower():
            return False
        raise AmiActionError(f"AMI DBDel failed: {reply.get('Message')!r}")

    async def _exchange(
        self, name: str, headers: Mapping[str, str], *, listing: bool = False, timeout: float | None = None
    ) -> tuple[AmiPacket, list[AmiPacket]]:
        """Send an action; return its response (and, for ``listing``, the events it produced)."""
        fields = {"Action": name, **headers}
        for key, value in fields.items():
            if any(c in key + value for c in "\r\n"):
                raise ValueError(f"AMI {name}: header {key} must be one line")
        async with self._lock:
            if self._reader is None or self._writer is None:
                raise AmiUnreachable("AMI is not connected")
            action_id = f"vs-{next(self._ids)}"
            fields["ActionID"] = action_id
            data = "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
            try:
                async with asyncio.timeout(self.timeout if timeout is None else timeout):
                    self._writer.write(data.encode())
                    await self._writer.drain()
                    return await self._answer(self._reader, action_id, listing)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                self._reader = None
                raise AmiUnreachable(
                    f"AMI at {self.host}:{self.port} stopped answering {name} ({type(exc).__name__})"
                ) from exc

    @staticmethod
    async def _answer(
        reader: asyncio.StreamReader, action_id: str, listing: bool
    ) -> tuple[AmiPacket, list[AmiPacket]]:
        reply: AmiPacket | None = None
        events: list[AmiPacket] = []
        while True:
            packet = await _read_packet(reader)
            if packet.get("ActionID") != action_id:
                continue  # an unsolicited event, or the tail of an earlier action
            if reply is None and packet.get("Response"):
                reply = packet
                log.debug("AMI %s: %s", action_id, packet.get("Response"))
                if not (listing and reply.ok):
                    return reply, events
                if reply.get("EventList").lower() != "start":
                    listing = False  # an old Asterisk: one event, no completion marker
            elif reply is not None:
                events.append(packet)
                if not listing or packet.get("EventList").lower() == "complete":
                    return reply, events


async def _read_packet(reader: asyncio.StreamReader) -> AmiPacket:
    headers: list[tuple[str, str]] = []
    while True:
        line = (await reader.readuntil(b"\n")).decode(errors="replace").rstrip("\r\n")
        if not line:
            if headers:
                return AmiPacket(tuple(headers))
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip(), value[1:] if value.startswith(" ") else value))
