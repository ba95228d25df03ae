"""Who changed what: the audit trail of every change, and the ``Actor`` who made it.

Changes are recorded in the same transaction as the change itself (pass the
session), so the log can never claim a change that was rolled back, nor miss
one that was committed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voicestatus.errors import InvalidInput
from voicestatus.services.clock import Clock, utcnow
from voicestatus.storage.database import Database
from voicestatus.storage.models import AuditLog

logger = logging.getLogger(__name__)

ActorKind = Literal["phone", "admin", "token", "cli", "operator", "system"]
ACTOR_KINDS: tuple[str, ...] = get_args(ActorKind)
MAX_PAGE = 1000


def storable(text: str, limit: int) -> str:
    """``text`` cut to ``limit``, non-printable characters replaced (PostgreSQL refuses NUL)."""
    text = text[:limit]
    return text if text.isprintable() else "".join(c if c.isprintable() else "\ufffd" for c in text)


def text_filter(value: str | None, field: str) -> str | None:
    """A search/filter term from outside: printable text only, as every backend can compare it."""
    if value is not None and not (isinstance(value, str) and value.isprintable()):
        raise InvalidInput(f"{field} must be printable text")
    return value


@dataclass(frozen=True)
class Actor:
    """Who made a change, rendered ``kind:name`` (``phone:PJSIP/101-0000001a``, ``admin:alice``)."""

    kind: ActorKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> Actor:
        kind, sep, name = text.partition(":")
        if not sep or kind not in ACTOR_KINDS:
            raise InvalidInput(f"not an actor: {text!r}")
        return cls(kind, name)  # type: ignore[arg-type]


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    extension: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _entry(row: AuditLog) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        extension=row.extension,
        before=row.before,
        after=row.after,
    )


class AuditService:
    """Writes and reads the audit log."""

    def __init__(
        self, db: Database, *, clock: Clock = utcnow, on_recorded: Callable[[int], None] | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        # Told each entry's id as it is written (see ``ChangeFeed.seen``).
        self._on_recorded = on_recorded

    async def record(
        self,
        session: AsyncSession | None,
        *,
        actor: Actor | str,
        action: str,
        extension: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        """Add one entry, inside ``session``'s transaction if given, else in its own."""
        row = AuditLog(
            at=self._clock(),
            actor=storable(str(actor), 200),
            action=action,
            extension=extension,
            before=before,
            after=after,
        )
        logger.info("audit %s by %r on %r", action, str(actor), extension)
        async with contextlib.AsyncExitStack() as stack:
            if session is None:
                session = await stack.enter_async_context(self._db.transaction())
            session.add(row)
            if self._on_recorded is not None:
                await session.flush()
                self._on_recorded(row.id)

    async def list(
        self,
        *,
        extension: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[AuditEntry], int]:
        """Newest first, with the total matching count for paging.

        ``actor`` is either a full ``kind:name`` or just a kind (``admin``).
        ``since`` is inclusive, ``until`` exclusive.
        """
        if offset < 0 or not 0 < limit <= MAX_PAGE:
            raise InvalidInput(f"offset must be >= 0 and limit 1..{MAX_PAGE}")
        extension = text_filter(extension, "extension")
        actor = text_filter(actor, "actor")
        action = text_filter(action, "action")
        conditions = []
        if extension is not None:
            conditions.append(AuditLog.extension == extension)
        if actor is not None:
            if ":" in actor:
                conditions.append(AuditLog.actor == actor)
            else:
                conditions.append(AuditLog.actor.startswith(f"{actor}:", autoescape=True))
        if action is not None:
            conditions.append(AuditLog.action == action)
        if since is not None:
            conditions.append(AuditLog.at >= since)
        if until is not None:
            conditions.append(AuditLog.at < until)
        query = select(AuditLog).where(*conditions)
        async with self._db.session() as session:
            total = await session.scalar(select(func.count()).select_from(AuditLog).where(*conditions))
            rows = await session.scalars(query.order_by(AuditLog.id.desc()).offset(offset).limit(limit))
            return [_entry(r) for r in rows], int(total or 0)
