"""Operators: who may use the service, their PIN, name and message switches.

Which extensions are operators is configuration (``[operators] pattern``),
injected as an ``is_allowed`` predicate; the database only holds what an
operator changed. An allowed extension without a row behaves as an operator
with defaults, and gets its row the first time something is written for it.

**Who may change what** is decided here, once, for the UI, the API and the
CLI alike (:meth:`OperatorService.check_change`): an operator (``operator``
actor: a web session opened with extension + PIN, in the UI or the API) may
change only their own messages, on/off switch, active status and expiry.
Name, PIN and ``enabled`` are an administrator's (admins, their API tokens,
the CLI): an operator must not be able to re-enable themselves, rename
themselves, or replace or remove the PIN that an administrator set. (The
phone menu offers no such change; its ``phone`` actor names a channel, not
an extension, so only the code paths it calls decide what it can do.)
Disabling an operator or changing their PIN ends their web sessions, so an
old cookie cannot keep working after the account was taken away. Every
committed change is announced to the :class:`ChangeNotifier` listeners here,
so no caller has to remember to (see ``changes.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from voicestatus.errors import InvalidInput, VoiceStatusError
from voicestatus.services.audit import Actor, AuditService, text_filter
from voicestatus.services.changes import ChangeNotifier
from voicestatus.services.clock import Clock, utcnow
from voicestatus.services.extensions import is_valid_extension
from voicestatus.services.pins import PIN_RULE, is_valid_pin
from voicestatus.storage import repository as repo
from voicestatus.storage.database import Database
from voicestatus.storage.models import Operator, WebSession

logger = logging.getLogger(__name__)

MAX_NAME_LENGTH = 100
MAX_PAGE = 1000


class UnknownOperator(VoiceStatusError):
    """The extension is not an operator under ``[operators] pattern``."""

    error_id = "unknown-operator"
    status_code = 404


class NotAllowed(VoiceStatusError):
    """The actor may not make this change (e.g. an operator changing their own PIN)."""

    error_id = "forbidden"
    status_code = 403


ADMIN_ONLY_FIELDS = frozenset({"name", "enabled", "pin"})
"""What only an administrator may change (see the module docstring)."""


class _Unset(enum.Enum):
    UNSET = enum.auto()


UNSET = _Unset.UNSET
"""Marks an ``update`` argument as "leave unchanged" (``None`` means "clear")."""


@dataclass(frozen=True)
class OperatorView:
    extension: str
    name: str | None
    has_pin: bool
    enabled: bool
    active_status: int | None
    message_enabled: bool
    expires_at: datetime | None
    updated_at: datetime | None


def _view(row: Operator) -> OperatorView:
    return OperatorView(
        extension=row.extension,
        name=row.name,
        has_pin=row.pin_hash is not None,
        enabled=row.enabled,
        active_status=row.active_status,
        message_enabled=row.message_enabled,
        expires_at=row.expires_at,
        updated_at=row.updated_at,
    )


def _default_view(extension: str) -> OperatorView:
    return OperatorView(extension, None, False, True, None, True, None, None)


def validate_status(status: object) -> int:
    if not isinstance(status, int) or isinstance(status, bool) or not 1 <= status <= 9:
        raise InvalidInput(f"status must be a digit 1..9, not {status!r}")
    return status


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


class OperatorService:
    """Reads and changes operators; every change is audited in its own transaction."""

    def __init__(
        self,
        db: Database,
        *,
        is_allowed: Callable[[str], bool],
        clock: Clock = utcnow,
        audit: AuditService | None = None,
        changes: ChangeNotifier | None = None,
        pin_hasher: PasswordHasher | None = None,
    ) -> None:
        self._db = db
        # Told after every committed change (see changes.py); a CLI process has no listeners.
        self.changes = changes if changes is not None else ChangeNotifier()
        self._is_allowed = is_allowed
        self._clock = clock
        self.audit = audit if audit is not None else AuditService(db, clock=clock)
        self._hasher = pin_hasher if pin_hasher is not None else PasswordHasher()
        self._dummy_hash: str | None = None

    def allowed(self, extension: str) -> bool:
        """Whether ``extension`` is an operator: plain digits and matching the pattern."""
        return is_valid_extension(extension) and self._is_allowed(extension)

    def _require(self, extension: str) -> None:
        if not self.allowed(extension):
            raise UnknownOperator(f"{extension!r} is not an operator extension")

    def check_change(self, actor: Actor, extension: str, fields: Iterable[str]) -> None:
        """Refuse (403 ``forbidden``) a change ``actor`` may not make; the one policy for every caller.

        Callers that change several things check all of them first, so a
        partly allowed request changes nothing.
        """
        if actor.kind != "operator":
            return
        if actor.name != extension:
            raise NotAllowed(
                "Operators can only change their own settings.", details={"extension": extension}
            )
        refused = sorted(ADMIN_ONLY_FIELDS.intersection(fields))
        if refused:
            raise NotAllowed(
                f"Only an administrator can change {', '.join(refused)}.", details={"fields": refused}
            )

    async def get(self, extension: str) -> OperatorView | None:
        if not self.allowed(extension):
            return None
        async with self._db.session() as session:
            row = await repo.get_operator(session, extension)
            return _view(row) if row is not None else _default_view(extension)

    async def ensure(self, extension: str) -> OperatorView:
        async with self._db.transaction() as session:
            return _view(await self.locked_row(session, extension))

    async def locked_row(self, session: AsyncSession, extension: str) -> Operator:
        """The operator's row inside a write transaction, created if missing and locked."""
        self._require(extension)
        await repo.insert_operator_if_missing(session, extension, self._clock())
        return await repo.lock_operator(session, extension)

    async def verify_pin(self, extension: str, pin: str) -> bool:
        """True only for a set PIN that matches; takes about as long either way."""
        stored: str | None = None
        if self.allowed(extension) and is_valid_pin(pin):
            async with self._db.session() as session:
                row = await repo.get_operator(session, extension)
                stored = row.pin_hash if row is not None else None
        if stored is None:
            await self._burn_time(pin)
            return False
        try:
            await asyncio.to_thread(self._hasher.verify, stored, pin)
        except (VerificationError, InvalidHashError):
            return False
        if self._hasher.check_needs_rehash(stored):
            new_hash = await asyncio.to_thread(self._hasher.hash, pin)
            async with self._db.transaction() as session:
                row = await repo.lock_operator(session, extension)
                if row.pin_hash == stored:
                    row.pin_hash = new_hash
        return True

    async def _burn_time(self, pin: str) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self._hasher.hash, "0000")
        with contextlib.suppress(VerificationError, InvalidHashError):
            await asyncio.to_thread(self._hasher.verify, self._dummy_hash, pin[:64] or "x")

    async def set_pin(self, extension: str, pin: str | None, *, actor: Actor) -> None:
        """Set (4..20 digits, argon2-hashed) or clear (``None``) the PIN; ends the operator's sessions."""
        self.check_change(actor, extension, ["pin"])
        if pin is not None and not is_valid_pin(pin):
            raise InvalidInput(PIN_RULE)
        self._require(extension)
        new_hash = None if pin is None else await asyncio.to_thread(self._hasher.hash, pin)
        async with self._db.transaction() as session:
            row = await self.locked_row(session, extension)
            before = {"has_pin": row.pin_hash is not None}
            row.pin_hash = new_hash
            row.updated_at = self._clock()
            await _end_sessions(session, extension)
            await self.audit.record(
                session,
                actor=actor,
                action="operator.pin_set" if pin is not None else "operator.pin_cleared",
                extension=extension,
                before=before,
                after={"has_pin": pin is not None},
            )
        await self.changes.notify(extension)

    async def update(
        self,
        extension: str,
        *,
        name: str | _Unset | None = UNSET,
        enabled: bool | _Unset = UNSET,
        active_status: int | _Unset | None = UNSET,
        message_enabled: bool | _Unset = UNSET,
        expires_at: datetime | _Unset | None = UNSET,
        actor: Actor,
    ) -> OperatorView:
        """Change the given fields (``None`` clears); audits only what really changed.

        Disabling the operator ends their web sessions in the same transaction.
        """
        given = {
            key for key, value in (("name", name), ("enabled", enabled), ("active_status", active_status),
                                   ("message_enabled", message_enabled), ("expires_at", expires_at))
            if not isinstance(value, _Unset)
        }  # fmt: skip
        self.check_change(actor, extension, given)
        wanted: dict[str, Any] = {}
        if not isinstance(name, _Unset):
            wanted["name"] = _clean_name(name)
        if not isinstance(enabled, _Unset):
            wanted["enabled"] = _bool(enabled, "enabled")
        if not isinstance(active_status, _Unset):
            wanted["active_status"] = None if active_status is None else validate_status(active_status)
        if not isinstance(message_enabled, _Unset):
            wanted["message_enabled"] = _bool(message_enabled, "message_enabled")
        if not isinstance(expires_at, _Unset):
            wanted["expires_at"] = _utc(expires_at)
        async with self._db.transaction() as session:
            row = await self.locked_row(session, extension)
            changed = {k: v for k, v in wanted.items() if getattr(row, k) != v}
            if changed:
                before = {k: _json(getattr(row, k)) for k in changed}
                for key, value in changed.items():
                    setattr(row, key, value)
                row.updated_at = self._clock()
                if changed.get("enabled") is False:
                    await _end_sessions(session, extension)
                await self.audit.record(
                    session,
                    actor=actor,
                    action="operator.update",
                    extension=extension,
                    before=before,
                    after={k: _json(v) for k, v in changed.items()},
                )
            view = _view(row)
        if changed:
            await self.changes.notify(extension)
        return view

    async def list(
        self,
        *,
        search: str | None = None,
        state: Literal["active", "expired", "none"] | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[OperatorView], int]:
        """Operators that have a row, in numeric order, with the total for paging.

        Rows of extensions the pattern no longer allows are listed too, so an
        admin can still see (and clean up) what they hold.
        """
        if offset < 0 or not 0 < limit <= MAX_PAGE:
            raise InvalidInput(f"offset must be >= 0 and limit 1..{MAX_PAGE}")
        search = text_filter(search, "search")
        conditions = []
        if search:
            conditions.append(repo.search_condition(search))
        if state is not None:
            if state not in ("active", "expired", "none"):
                raise InvalidInput(f"state must be active, expired or none, not {state!r}")
            conditions.append(repo.state_condition(state, self._clock()))
        async with self._db.session() as session:
            rows, total = await repo.list_operators(session, conditions, offset, limit)
            return [_view(r) for r in rows], total


async def _end_sessions(session: AsyncSession, extension: str) -> None:
    """Log the operator out everywhere (their access was taken away or their PIN changed)."""
    await session.execute(delete(WebSession).where(WebSession.operator_extension == extension))


def _clean_name(name: str | None) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise InvalidInput("name must be text")
    name = " ".join(name.split())
    if len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise InvalidInput(f"name must be printable and at most {MAX_NAME_LENGTH} characters")
    return name or None


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{field} must be true or false")
    return value


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("expires_at must be a date and time with a timezone")
    return value.astimezone(UTC)
