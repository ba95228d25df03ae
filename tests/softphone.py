"""Async handle on a real SIP softphone process (see softphone_agent.py).

Tests talk to the phone the way a person uses one (dial, press keys, speak,
listen, let it ring) and never touch PJSIP themselves: the agent process owns
all of PJSIP's threads, so nothing of it runs on the test's event loop.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

AGENT = Path(__file__).with_name("softphone_agent.py")


class SoftphoneError(AssertionError):
    """The phone could not do what the test asked."""


class Softphone:
    """One SIP user agent registered to the sandbox, like a desk phone."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls) -> Softphone:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(AGENT),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        phone = cls(proc)
        try:
            ready = await phone._read(15)
        except BaseException:
            await phone.close()
            raise
        if not ready.get("ready"):
            await phone.close()
            raise SoftphoneError(f"softphone did not start: {ready}")
        return phone

    async def _read(self, timeout: float) -> dict[str, Any]:
        assert self._proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                line = await self._proc.stdout.readline()
                if not line:
                    raise SoftphoneError("the softphone process exited")
                if line.startswith(b"{"):  # PJSIP's own start-up log line comes first
                    reply: dict[str, Any] = json.loads(line)
                    return reply

    async def command(self, cmd: str, *, wait: float = 15, **args: object) -> dict[str, Any]:
        async with self._lock:
            assert self._proc.stdin is not None
            self._proc.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
            await self._proc.stdin.drain()
            reply = await self._read(wait)
        if not reply.get("ok"):
            raise SoftphoneError(f"{cmd} failed: {reply}")
        return reply

    async def register(self, user: str, password: str, server: str) -> None:
        await self.command("register", user=user, password=password, server=server)

    async def call(self, to: str, *, record: Path | None = None, timeout: float = 30) -> None:
        """Dial ``to`` and return once answered; ``record`` keeps all the phone hears."""
        await self.command(
            "call", to=to, record=str(record) if record else "", timeout=timeout, wait=timeout + 10
        )

    async def dtmf(self, digits: str) -> None:
        await self.command("dtmf", digits=digits)

    async def say(self, wav: Path) -> None:
        """Speak ``wav`` into the call; returns when all of it has been sent."""
        await self.command("play", wav=str(wav), wait=120)

    async def wait_disconnect(self, timeout: float = 30) -> float | None:
        """Wait for the far end to hang up; the recording is then complete.

        Returns the seconds from the answer to the recording's first frame.
        """
        reply = await self.command("wait_disconnect", timeout=timeout, wait=timeout + 10)
        offset: float | None = reply.get("record_offset")
        return offset

    async def rings(self) -> int:
        """How many incoming calls have rung this phone (it never answers them)."""
        count: int = (await self.command("ringing"))["count"]
        return count

    async def hangup(self) -> None:
        await self.command("hangup")

    async def close(self) -> None:
        if self._proc.returncode is None:
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.write(b'{"cmd": "quit"}\n')
                await self._proc.stdin.drain()
                await asyncio.wait_for(self._proc.wait(), 10)
            except (TimeoutError, ConnectionError):
                self._proc.kill()
                await self._proc.wait()
