"""The destinations we replaced in FreePBX, kept in our own database.

``freepbx revert`` can only put back what was there if it was written down
before it was overwritten, so these rows are committed before FreePBX is
touched. They record what an admin had configured, never our own
destination: re-applying leaves them alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from voicestatus.storage.models import FreepbxSavedDestination

Key = tuple[str, str]


async def load(session: AsyncSession, keys: Iterable[Key] | None = None) -> dict[Key, str]:
    """Saved values, all of them or those for ``(extension, reason)`` keys."""
    query = select(FreepbxSavedDestination)
    wanted = list(keys) if keys is not None else None
    if wanted is not None and not wanted:
        return {}
    rows = await session.scalars(query)
    out = {(r.extension, r.reason): r.previous_value or "" for r in rows}
    if wanted is not None:
        keep = set(wanted)
        out = {k: v for k, v in out.items() if k in keep}
    return out


async def store(session: AsyncSession, values: Mapping[Key, str], now: datetime) -> dict[Key, str | None]:
    """Insert or replace saved values; returns what was saved before (None: nothing)."""
    if not values:
        return {}
    existing = {
        (r.extension, r.reason): r
        for r in await session.scalars(
            select(FreepbxSavedDestination).where(
                tuple_(FreepbxSavedDestination.extension, FreepbxSavedDestination.reason).in_(list(values))
            )
        )
    }
    previous: dict[Key, str | None] = {}
    for (extension, reason), value in values.items():
        row = existing.get((extension, reason))
        previous[(extension, reason)] = None if row is None else (row.previous_value or "")
        if row is None:
            session.add(
                FreepbxSavedDestination(
                    extension=extension, reason=reason, previous_value=value, applied_at=now
                )
            )
        else:
            row.previous_value = value
            row.applied_at = now
    await session.flush()
    return previous


async def restore_saved(session: AsyncSession, previous: Mapping[Key, str | None], now: datetime) -> None:
    """Undo :func:`store` after FreePBX refused the change."""
    gone = [k for k, v in previous.items() if v is None]
    await forget(session, gone)
    await store(session, {k: v for k, v in previous.items() if v is not None}, now)


async def forget(session: AsyncSession, keys: Iterable[Key]) -> None:
    wanted = list(keys)
    if wanted:
        await session.execute(
            delete(FreepbxSavedDestination).where(
                tuple_(FreepbxSavedDestination.extension, FreepbxSavedDestination.reason).in_(wanted)
            )
        )
