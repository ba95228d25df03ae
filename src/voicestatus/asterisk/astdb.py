"""Writes Asterisk's AstDB for the co-located mirror's keys, over AMI.

ARI cannot do it: ``POST /asterisk/variable?variable=DB(...)`` is answered
204 but Asterisk refuses it ("Dangerous function DB write blocked") unless
``live_dangerously`` is on, which no admin should enable for this. AMI's
``DBPut``/``DBDel`` are the supported way (:mod:`voicestatus.asterisk.ami`).
Mirror writes are rare, so each batch is one short login. Families, keys and
values are held to a strict alphabet, stricter than AMI itself needs: they
end up as sound names the dialplan plays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from voicestatus.asterisk.ami import AmiClient

_SAFE = re.compile(r"[A-Za-z0-9_/.-]{1,128}", re.ASCII)


@dataclass(frozen=True)
class AstDbChange:
    """Set ``family/key`` to ``value``, or delete it when ``value`` is None."""

    family: str
    key: str
    value: str | None


class AmiAstDb:
    """AstDB writes through the Asterisk Manager Interface."""

    def __init__(self, url: str, username: str, password: str, *, timeout: float = 5.0) -> None:
        self._login = (url, username, password)
        self.timeout = timeout
        AmiClient(url, username, password)  # a bad URL or user is a ConfigError at start-up

    async def apply(self, changes: Iterable[AstDbChange]) -> None:
        """Apply the changes in order over one login; raises AmiError."""
        todo = list(changes)
        for change in todo:
            for part in (change.family, change.key, change.value or "x"):
                if not _SAFE.fullmatch(part):
                    raise ValueError(f"unsafe AstDB name or value: {part!r}")
        if not todo:
            return
        async with AmiClient(*self._login, timeout=self.timeout) as ami:
            for change in todo:
                if change.value is None:
                    await ami.db_del(change.family, change.key)  # a key already gone is fine
                else:
                    await ami.db_put(change.family, change.key, change.value)
