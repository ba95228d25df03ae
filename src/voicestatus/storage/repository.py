"""The queries the services need, kept here so the services read as domain logic.

Each function takes the caller's session, so a service composes several of them
into one transaction. Upserts use ``INSERT ... ON CONFLICT``, which SQLite and
PostgreSQL both understand (through their own SQLAlchemy dialect constructs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, delete, exists, false, func, not_, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from voicestatus.storage.models import Message, Operator, PlayStat

OperatorState = Literal["active", "expired", "none"]


def _insert(session: AsyncSession, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def insert_operator_if_missing(session: AsyncSession, extension: str, now: datetime) -> None:
    """Create the default row for an allowed operator; a no-op when it exists."""
    stmt = _insert(session, Operator).values(
        extension=extension,
        enabled=True,
        message_enabled=True,
        created_at=now,
        updated_at=now,
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["extension"]))


async def get_operator(session: AsyncSession, extension: str) -> Operator | None:
    return await session.get(Operator, extension)


async def lock_operator(session: AsyncSession, extension: str) -> Operator:
    """The operator row, locked against concurrent writers until the transaction ends."""
    stmt = (
        select(Operator)
        .where(Operator.extension == extension)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one()


def state_condition(state: OperatorState, now: datetime) -> ColumnElement[bool]:
    """SQL for the list filter: what callers hear now, expired, or neither."""
    not_expired = or_(Operator.expires_at.is_(None), Operator.expires_at > now)
    has_current = exists().where(
        Message.extension == Operator.extension,
        Message.status == Operator.active_status,
        Message.is_current == true(),
    )
    active = and_(
        Operator.enabled == true(),
        Operator.message_enabled == true(),
        Operator.active_status.is_not(None),
        not_expired,
        has_current,
    )
    expired = and_(
        Operator.active_status.is_not(None),
        Operator.expires_at.is_not(None),
        Operator.expires_at <= now,
    )
    if state == "active":
        return active
    if state == "expired":
        return expired
    return and_(not_(active), not_(expired))


def search_condition(search: str) -> ColumnElement[bool]:
    return or_(
        Operator.extension.startswith(search, autoescape=True),
        Operator.name.icontains(search, autoescape=True),
    )


async def list_operators(
    session: AsyncSession, conditions: list[ColumnElement[bool]], offset: int, limit: int
) -> tuple[list[Operator], int]:
    total = await session.scalar(select(func.count()).select_from(Operator).where(*conditions))
    rows = await session.scalars(
        select(Operator)
        .where(*conditions)
        # Digit strings: shorter first gives numeric order (99 before 100).
        .order_by(func.length(Operator.extension), Operator.extension)
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total or 0)


async def current_message(session: AsyncSession, extension: str, status: int) -> Message | None:
    stmt = select(Message).where(
        Message.extension == extension, Message.status == status, Message.is_current == true()
    )
    return (await session.scalars(stmt)).one_or_none()


async def current_messages(session: AsyncSession, extension: str) -> list[Message]:
    stmt = (
        select(Message)
        .where(Message.extension == extension, Message.is_current == true())
        .order_by(Message.status)
    )
    return list(await session.scalars(stmt))


async def current_messages_with_plays(
    session: AsyncSession, extensions: Sequence[str]
) -> list[tuple[Message, PlayStat | None]]:
    """The current messages of several operators with their play counts, in one query.

    A page of the operator list shows every operator's messages; one query per
    operator would queue a whole page's worth of round trips per request.
    """
    if not extensions:
        return []
    stmt = (
        select(Message, PlayStat)
        .outerjoin(PlayStat, PlayStat.message_id == Message.id)
        .where(Message.extension.in_(list(extensions)), Message.is_current == true())
        .order_by(Message.extension, Message.status)
    )
    return [(m, p) for m, p in await session.execute(stmt)]


async def operator_with_current_messages(
    session: AsyncSession, extension: str
) -> tuple[Operator | None, list[Message]]:
    """The operator's row and all its current messages, in one query (no row: ``None, []``)."""
    stmt = (
        select(Operator, Message)
        .outerjoin(Message, and_(Message.extension == Operator.extension, Message.is_current == true()))
        .where(Operator.extension == extension)
        .order_by(Message.status)
    )
    rows = (await session.execute(stmt)).all()
    if not rows:
        return None, []
    return rows[0][0], [message for _, message in rows if message is not None]


async def playable_message(session: AsyncSession, extension: str, now: datetime) -> Message | None:
    """The message callers hear: one query over the operator PK and the current-message index."""
    stmt = (
        select(Message)
        .join(
            Operator,
            and_(
                Operator.extension == Message.extension,
                Operator.active_status == Message.status,
            ),
        )
        .where(
            Operator.extension == extension,
            Message.is_current == true(),
            Operator.enabled == true(),
            Operator.message_enabled == true(),
            or_(Operator.expires_at.is_(None), Operator.expires_at > now),
        )
    )
    return (await session.scalars(stmt)).one_or_none()


async def retire_current(
    session: AsyncSession, extension: str, status: int, now: datetime, *, deleted: bool
) -> Message | None:
    """Move the current message (if any) to history; returns it."""
    current = await current_message(session, extension, status)
    if current is None:
        return None
    values: dict[str, Any] = {"is_current": False, "retired_at": now}
    if deleted:
        values["deleted_at"] = now
    # Executed now, so the unique "one current" index never sees two.
    await session.execute(
        update(Message).where(Message.id == current.id).values(**values),
        execution_options={"synchronize_session": "fetch"},
    )
    await session.refresh(current)
    return current


async def history(session: AsyncSession, extension: str, status: int, limit: int) -> list[Message]:
    """Non-current messages, the most recently retired first."""
    stmt = (
        select(Message)
        .where(
            Message.extension == extension,
            Message.status == status,
            Message.is_current == false(),
        )
        .order_by(Message.retired_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def increment_play(session: AsyncSession, message_id: int, now: datetime) -> None:
    stmt = _insert(session, PlayStat).values(message_id=message_id, count=1, last_played_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=["message_id"],
        set_={"count": PlayStat.count + 1, "last_played_at": now},
    )
    await session.execute(stmt)


async def get_play_stat(session: AsyncSession, message_id: int) -> PlayStat | None:
    return await session.get(PlayStat, message_id)


async def purge_history(session: AsyncSession, cutoff: datetime) -> list[str]:
    """Delete history retired before ``cutoff``; return the sha256s nothing references now."""

    def purgeable(m: Any) -> ColumnElement[bool]:
        return and_(m.is_current == false(), m.retired_at.is_not(None), m.retired_at < cutoff)

    other = aliased(Message)
    orphans = await session.scalars(
        select(Message.sha256)
        .distinct()
        .where(purgeable(Message))
        .where(~exists().where(other.sha256 == Message.sha256, not_(purgeable(other))))
        .order_by(Message.sha256)
    )
    shas = list(orphans)
    doomed = select(Message.id).where(purgeable(Message))
    await session.execute(delete(PlayStat).where(PlayStat.message_id.in_(doomed)))
    await session.execute(
        delete(Message).where(purgeable(Message)), execution_options={"synchronize_session": False}
    )
    return shas
