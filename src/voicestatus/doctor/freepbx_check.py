"""Doctor check: do FreePBX's destinations agree with our operators?

An operator who has recorded a message but whose extension does not send
unanswered calls to us never has it heard: a failure. An extension that
sends calls to us but is not an operator gets the generic notice: also a
failure. An extension that merely matches ``[operators] pattern`` and has no
message yet is only worth a warning: where the pattern is broad (``_1XX``)
and a few of those extensions are operators, the rest are not wired on purpose.
"""

from __future__ import annotations

import asyncio
import os

from sqlalchemy import select

from voicestatus.config import Config
from voicestatus.doctor.findings import Finding, Status
from voicestatus.errors import ConfigError
from voicestatus.freepbx.credentials import database_params
from voicestatus.freepbx.selection import extension_order
from voicestatus.freepbx.users import FreepbxError, FreepbxLocked, FreepbxUnreachable, UsersTable
from voicestatus.services.extensions import ExtensionPattern
from voicestatus.storage.database import make_engine
from voicestatus.storage.models import Message


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
    where = "[freepbx] database_url" if fp.database_url else fp.config_file
    try:
        table = UsersTable(database_params(fp), lock_timeout=2)
        current = await asyncio.to_thread(_read, table)
    except ConfigError as exc:
        return Finding("freepbx", "fail", exc.message, f"run doctor as root, or fix {where}")
    except FreepbxUnreachable as exc:
        return Finding(
            "freepbx", "fail", exc.message,
            f"start MariaDB (systemctl start mariadb) and check the database settings in {where}",
        )  # fmt: skip
    except FreepbxLocked as exc:
        return Finding("freepbx", "fail", exc.message, "wait for the GUI, backup or restore; run again")
    except FreepbxError as exc:
        return Finding("freepbx", "fail", exc.message, f"check the FreePBX database settings in {where}")
    pattern = ExtensionPattern.parse(config.operators.pattern)
    ours = {ext for ext, dests in current.items() if fp.destination in dests.values()}
    operators = sorted((ext for ext in current if pattern.matches(ext)), key=extension_order)
    with_message = await extensions_with_message(config)
    unwired = [ext for ext in operators if ext not in ours]
    unheard = [ext for ext in unwired if with_message is None or ext in with_message]
    idle = [ext for ext in unwired if ext not in unheard]
    strays = sorted((ext for ext in ours if not pattern.matches(ext)), key=extension_order)
    problems, notes, fixes = [], [], []
    if unheard:
        problems.append(
            f"{len(unheard)} operator(s) with a message not sent to {fp.destination}, callers never "
            f"hear it: {_short(unheard)}"
        )
        fixes.append(f"voicestatus freepbx apply --extensions {_short(unheard)}")
    if strays:
        problems.append(f"{len(strays)} non-operator extension(s) sent to voicestatus: {_short(strays)}")
        fixes.append(
            f"voicestatus freepbx revert --extensions {_short(strays)} (or widen [operators] pattern)"
        )
    if idle:
        notes.append(
            f"{len(idle)} extension(s) matching [operators] pattern, without a message, not sent to "
            f"{fp.destination}: {_short(idle)}"
        )
        fixes.append(
            f"if they are operators: voicestatus freepbx apply --extensions {_short(idle)}; "
            "otherwise narrow [operators] pattern"
        )
    if problems or notes:
        status: Status = "fail" if problems else "warn"
        return Finding("freepbx", status, "; ".join(problems + notes), "; ".join(fixes))
    return Finding("freepbx", "ok", f"{len(operators)} operator extension(s) are sent to {fp.destination}")


async def extensions_with_message(config: Config) -> set[str] | None:
    """Extensions that have a current message; None when the database cannot be read.

    Never creates the SQLite file: on a fresh install there is simply none.
    """
    url = config.database.url
    if url.startswith("sqlite:///") and not await asyncio.to_thread(os.path.isfile, url[len("sqlite:///") :]):
        return set()
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(Message.extension).where(Message.is_current).distinct())
            return {str(ext) for ext in rows.scalars()}
    except Exception:  # any driver's error; check_database reports it
        return None
    finally:
        await engine.dispose()
