"""Running FreePBX's reload (``fwconsole reload`` unless configured otherwise).

FreePBX writes its dialplan from the database only when reloaded, so a
changed destination takes effect only after this succeeds. The command is
split like a shell would but never run through one.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass

from voicestatus.errors import ConfigError

RELOAD_TIMEOUT = 600.0
_OUTPUT_TAIL = 2000


@dataclass(frozen=True)
class ReloadOutcome:
    command: str
    ok: bool
    returncode: int | None
    output: str

    def describe(self) -> str:
        if self.ok:
            return f"{self.command}: done"
        status = "could not run" if self.returncode is None else f"exit status {self.returncode}"
        tail = self.output.strip().splitlines()[-5:]
        return f"{self.command}: {status}" + ("".join(f"\n  | {line}" for line in tail) if tail else "")


def run_reload(command: str, *, timeout: float = RELOAD_TIMEOUT) -> ReloadOutcome:
    """Run the reload command; failures are reported in the outcome, not raised."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"[freepbx] reload_command {command!r}: {exc}") from exc
    if not argv:
        raise ConfigError("[freepbx] reload_command is empty")
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        return ReloadOutcome(command, False, None, f"{argv[0]}: command not found")
    except PermissionError as exc:
        return ReloadOutcome(command, False, None, f"{argv[0]}: {exc.strerror}")
    except subprocess.TimeoutExpired:
        return ReloadOutcome(command, False, None, f"did not finish within {timeout:.0f} s")
    output = done.stdout.decode("utf-8", errors="replace")[-_OUTPUT_TAIL:]
    return ReloadOutcome(command, done.returncode == 0, done.returncode, output)
