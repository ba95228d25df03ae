"""Running FreePBX's reload (``fwconsole reload`` unless configured otherwise).

FreePBX writes its dialplan from the database only when reloaded, so a
changed destination takes effect only after this succeeds. The command is
split like a shell would but never run through one.

A reload can hang (a module waiting on the network, a locked Asterisk), and
an admin staring at a silent terminal cannot tell that from a slow PBX: the
caller is told how long it has been running every ``PROGRESS_EVERY`` seconds,
and after ``[freepbx] reload_timeout`` the command and everything it started
(its own process group) is stopped and the outcome says so.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from voicestatus.errors import ConfigError

RELOAD_TIMEOUT = 180.0
PROGRESS_EVERY = 10.0
_STOP_GRACE = 5.0
_OUTPUT_TAIL = 2000

Elapsed = Callable[[float], None]


@dataclass(frozen=True)
class ReloadOutcome:
    command: str
    ok: bool
    returncode: int | None
    output: str
    timed_out: bool = False

    def describe(self) -> str:
        if self.ok:
            return f"{self.command}: done"
        if self.timed_out:
            status = "did not finish in time and was stopped"
        else:
            status = "could not run" if self.returncode is None else f"exit status {self.returncode}"
        tail = self.output.strip().splitlines()[-5:]
        return f"{self.command}: {status}" + ("".join(f"\n  | {line}" for line in tail) if tail else "")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the reload and whatever it started: TERM to its process group, then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(_STOP_GRACE)
            return
        except subprocess.TimeoutExpired:
            continue


def run_reload(
    command: str,
    *,
    timeout: float = RELOAD_TIMEOUT,
    elapsed: Elapsed | None = None,
    every: float | None = None,
) -> ReloadOutcome:
    """Run the reload command; failures (and a timeout) are reported in the outcome, not raised.

    ``elapsed(seconds)`` is called every ``every`` seconds (``PROGRESS_EVERY``)
    while the command runs. Output goes to a temporary file, not a pipe, so a
    child left behind holding the pipe can never keep us waiting.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"[freepbx] reload_command {command!r}: {exc}") from exc
    if not argv:
        raise ConfigError("[freepbx] reload_command is empty")
    step = PROGRESS_EVERY if every is None else every
    with tempfile.TemporaryFile() as out:
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        except FileNotFoundError:
            return ReloadOutcome(command, False, None, f"{argv[0]}: command not found")
        except PermissionError as exc:
            return ReloadOutcome(command, False, None, f"{argv[0]}: {exc.strerror}")
        started = time.monotonic()
        deadline = started + timeout
        timed_out = False
        while True:
            now = time.monotonic()
            try:
                process.wait(max(0.0, min(step, deadline - now)))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    timed_out = True
                    _stop(process)
                    break
                if elapsed is not None:
                    elapsed(time.monotonic() - started)
        out.seek(0)
        output = out.read()[-_OUTPUT_TAIL * 4 :].decode("utf-8", errors="replace")[-_OUTPUT_TAIL:]
    if timed_out:
        return ReloadOutcome(command, False, None, output, timed_out=True)
    return ReloadOutcome(command, process.returncode == 0, process.returncode, output)
