"""Shared data for the FreePBX tests: the seeded extensions and the fake fwconsole."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SEED = {
    "101": ("app-blackhole,hangup,1", "", "ext-local,vmu101,1"),
    "102": ("", "", ""),
    "103": ("ext-queues,400,1", "ext-local,vmb103,1", "ext-local,vmu103,1"),
    "205": ("from-did-direct,300,1", "", ""),
    "300": ("ext-group,600,1", "", ""),
}

# "hang" in the status file: a reload that never finishes, with a child process
# (as fwconsole has) whose pid goes to the pid file, so a test can check that it
# was stopped too.
FWCONSOLE = """#!/bin/sh
echo "$@" >> "{log}"
echo "Reloading FreePBX"
status=$(cat "{status}")
if [ "$status" = hang ]; then
    sleep 600 &
    echo $! > "{pidfile}"
    wait
fi
exit $status
"""


@dataclass
class Fwconsole:
    log: Path
    status: Path
    pidfile: Path | None = None

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def fail_with(self, code: int) -> None:
        self.status.write_text(str(code))

    def hang(self) -> None:
        """The next reloads never finish on their own."""
        self.status.write_text("hang")

    def hung_child(self) -> int | None:
        """The pid of the hung reload's child process, once it started."""
        if self.pidfile is None or not self.pidfile.exists():
            return None
        text = self.pidfile.read_text().strip()
        return int(text) if text else None
