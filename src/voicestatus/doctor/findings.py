"""What a doctor check reports: a ``Finding`` with its ``Status``.

In a module of its own so the check modules (``storage_checks``,
``freepbx_check``, ``config_file_check``) and the ``Doctor`` that runs them
all import it from here, rather than the check modules importing the runner
that imports them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "detail": self.detail, "fix": self.fix}
