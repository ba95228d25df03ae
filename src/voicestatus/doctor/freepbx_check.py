"""Doctor check: do FreePBX's destinations agree with our operators?

An operator whose extension does not send unanswered calls to us never has
their message heard; an extension that sends calls to us but is not an
operator gets the generic notice. Both are easy to miss and easy to fix.
"""

from __future__ import annotations

import asyncio
import os

from voicestatus.config import Config
from voicestatus.doctor.checks import Finding
from voicestatus.freepbx.credentials import database_params
from voicestatus.freepbx.users import UsersTable
from voicestatus.services.extensions import ExtensionPattern


def _short(extensions: list[str]) -> str:
    return ",".join(extensions[:30]) + (",..." if len(extensions) > 30 else "")


def _read(table: UsersTable) -> dict[str, dict[str, str]]:
    table.begin()
    try:
        return table.lock_destinations(table.all_extensions(), lock=False)
    finally:
        table.close()


async def check_freepbx(config: Config) -> Finding:
    fp = config.freepbx
    if not fp.database_url and not await asyncio.to_thread(os.path.exists, fp.config_file):
        return Finding("freepbx", "ok", f"not a FreePBX host ({fp.config_file} absent): nothing to check")
    table = UsersTable(database_params(fp), lock_timeout=2)
    current = await asyncio.to_thread(_read, table)
    pattern = ExtensionPattern.parse(config.operators.pattern)
    ours = {ext for ext, dests in current.items() if fp.destination in dests.values()}
    operators = [ext for ext in current if pattern.matches(ext)]
    unwired = [ext for ext in operators if ext not in ours]
    strays = sorted((ext for ext in ours if not pattern.matches(ext)), key=lambda e: (len(e), e))
    problems, fixes = [], []
    if unwired:
        problems.append(f"{len(unwired)} operator(s) not sent to {fp.destination}: {_short(unwired)}")
        fixes.append(f"voicestatus freepbx apply --extensions {_short(unwired)}")
    if strays:
        problems.append(f"{len(strays)} non-operator extension(s) sent to voicestatus: {_short(strays)}")
        fixes.append(
            f"voicestatus freepbx revert --extensions {_short(strays)} (or widen [operators] pattern)"
        )
    if problems:
        return Finding("freepbx", "fail", "; ".join(problems), "; ".join(fixes))
    return Finding("freepbx", "ok", f"{len(operators)} operator extension(s) are sent to {fp.destination}")
