"""CPU time and resident memory of a process, read from /proc.

The benchmark charges CPU to Asterisk, the service and the load generator
separately, so it reads each one's own counters rather than the machine's
load: other work on the host then does not show up as "our" cost.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, proc: Path = Path("/proc")) -> float:
    """User + system CPU seconds of ``pid`` (all its threads) so far."""
    text = (proc / str(pid) / "stat").read_text()
    # The command name (field 2) may contain spaces and parentheses; fields
    # after the last ')' are fixed: state is field 3, utime 14, stime 15.
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_kb(pid: int, proc: Path = Path("/proc")) -> int:
    """Resident set size of ``pid`` in KiB."""
    for line in (proc / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for process {pid}")


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu_model": model}
