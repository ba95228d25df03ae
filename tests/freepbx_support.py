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

FWCONSOLE = """#!/bin/sh
echo "$@" >> "{log}"
echo "Reloading FreePBX"
exit $(cat "{status}")
"""


@dataclass
class Fwconsole:
    log: Path
    status: Path

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def fail_with(self, code: int) -> None:
        self.status.write_text(str(code))
