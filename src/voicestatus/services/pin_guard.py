"""PIN lock-out: one wrong-PIN count per extension and per calling source.

A PIN has at most 10^4..10^20 values and calls are cheap, so a limit per call
(``[phone] pin_tries``) alone lets automated calls, many of them in parallel,
walk the PIN space. The guard keeps the count in the database, so it holds
across calls, parallel calls, restarts and instances, and the phone menu and
the web operator login share it: a PIN has one count whichever way it is tried.

Two counts apply to every try: the extension's (someone guessing 101's PIN
from anywhere) and the source's (one endpoint or web address trying PINs
across many extensions). A try is counted *before* the PIN is verified, in a
locked row, so N parallel tries cannot all pass the check: at most
``pin_lock_after`` verifications are ever in flight per key. A key whose count
is used up is locked for ``pin_lock_seconds``, doubling with each lock-out up
to ``pin_lock_max_seconds``; after a lock ends one more wrong PIN locks again.
While a key is locked no PIN is verified at all. A successful login clears the
extension's count (the source only gets its own try back: an attacker who
knows one PIN must not reset the source count with it). A count left alone
for a day is forgotten. Every lock-out and every cleared lock is audited.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voicestatus.config import Config
from voicestatus.errors import ConfigError
from voicestatus.services.audit import Actor, AuditService, storable
from voicestatus.services.clock import Clock, utcnow
from voicestatus.services.operators import OperatorService
from voicestatus.storage.database import Database
from voicestatus.storage.models import PIN_GUARD_SUBJECT_LENGTH, PinCounter

log = logging.getLogger(__name__)

EXTENSION = "extension"
SOURCE = "source"
FORGET_AFTER = timedelta(days=1)
SWEEP_EVERY = timedelta(hours=1)
LOCKED_ACTION = "pin-locked"
UNLOCKED_ACTION = "pin-unlocked"


class PinCheck(enum.Enum):
    """The outcome of one guarded PIN try."""

    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class _Key:
    scope: str
    subject: str


class PinGuard:
    """Counts PIN tries per extension and per source, locks, and clears locks."""

    def __init__(
        self,
        db: Database,
        audit: AuditService,
        *,
        is_allowed: Callable[[str], bool],
        lock_after: int = 5,
        lock_seconds: float = 60.0,
        max_lock_seconds: float = 3600.0,
        clock: Clock = utcnow,
    ) -> None:
        if isinstance(lock_after, bool) or not isinstance(lock_after, int) or lock_after < 1:
            raise ConfigError(f"[phone] pin_lock_after must be 1 or more, not {lock_after!r}")
        if not 0 < lock_seconds <= max_lock_seconds:
            raise ConfigError("[phone] pin_lock_seconds must be > 0 and <= pin_lock_max_seconds")
        self._db = db
        self._audit = audit
        self._is_allowed = is_allowed
        self.lock_after = lock_after
        self._base = timedelta(seconds=lock_seconds)
        self._cap = timedelta(seconds=max_lock_seconds)
        self._forget = max(FORGET_AFTER, 2 * self._cap)
        self._clock = clock
        self._swept_at: datetime | None = None

    @classmethod
    def from_config(
        cls, db: Database, audit: AuditService, config: Config, *, is_allowed: Callable[[str], bool],
        clock: Clock = utcnow,
    ) -> PinGuard:  # fmt: skip
        phone = config.phone
        return cls(
            db, audit, is_allowed=is_allowed, lock_after=phone.pin_lock_after,
            lock_seconds=phone.pin_lock_seconds, max_lock_seconds=phone.pin_lock_max_seconds, clock=clock,
        )  # fmt: skip

    # -- keys -----------------------------------------------------------------------

    def _keys(self, extension: str | None, source: str | None) -> list[_Key]:
        """The counts a try touches: the extension's if it is an operator, and the source's.

        Non-operator extensions get no row (anyone could create unlimited rows
        by typing numbers); the source still counts such tries.
        """
        keys: list[_Key] = []
        if extension and self._is_allowed(extension):
            keys.append(_Key(EXTENSION, extension))
        if source:
            keys.append(_Key(SOURCE, storable(source, PIN_GUARD_SUBJECT_LENGTH)))
        return keys

    # -- reading --------------------------------------------------------------------

    async def locked_until(self, extension: str | None = None, source: str | None = None) -> datetime | None:
        """When the latest lock on these keys ends, or None if none is locked now.

        Read-only, for telling a caller early (before they type a PIN); the
        decision itself is taken again, atomically, by :meth:`attempt`.
        """
        keys = self._keys(extension, source)
        if not keys:
            return None
        now = self._clock()
        async with self._db.session() as session:
            rows = [await session.get(PinCounter, (k.scope, k.subject)) for k in keys]
        ends = [r.locked_until for r in rows if r is not None and r.locked_until and r.locked_until > now]
        return max(ends) if ends else None

    async def locks(self, extensions: Iterable[str]) -> dict[str, datetime]:
        """The extensions among ``extensions`` whose PIN is locked now, with the lock's end."""
        wanted = sorted(set(extensions))
        if not wanted:
            return {}
        now = self._clock()
        query = select(PinCounter.subject, PinCounter.locked_until).where(
            PinCounter.scope == EXTENSION, PinCounter.subject.in_(wanted), PinCounter.locked_until > now
        )
        async with self._db.session() as session:
            return {subject: until for subject, until in (await session.execute(query)).all() if until}

    # -- one try --------------------------------------------------------------------

    async def attempt(
        self,
        extension: str | None,
        verify: Callable[[], Awaitable[bool]],
        *,
        source: str | None,
        actor: Actor,
    ) -> PinCheck:
        """Count the try, then (unless locked) run ``verify``; settle the count by its result."""
        keys = self._keys(extension, source)
        await self._sweep_forgotten()
        if not await self._reserve(keys, actor):
            log.info("PIN try refused: locked (%s)", ", ".join(f"{k.scope} {k.subject!r}" for k in keys))
            return PinCheck.LOCKED
        ok = False
        try:
            ok = await verify()
        finally:
            await self._settle(keys, ok, actor)
        return PinCheck.OK if ok else PinCheck.WRONG

    async def _sweep_forgotten(self) -> None:
        """Delete counts nobody touched for the forget period, at most once an hour.

        Every failing web address gets a row, so without this an attacker with
        many addresses (one IPv6 prefix is plenty) could grow the table for ever.
        """
        now = self._clock()
        if self._swept_at is not None and now - self._swept_at < SWEEP_EVERY:
            return
        self._swept_at = now
        stale = delete(PinCounter).where(
            PinCounter.updated_at < now - self._forget,
            or_(PinCounter.locked_until.is_(None), PinCounter.locked_until <= now),
        )
        async with self._db.transaction() as session:
            result = await session.execute(stale)
        if result.rowcount:  # type: ignore[attr-defined]
            log.info("forgot %d PIN counts untouched since %s", result.rowcount, (now - self._forget).date())  # type: ignore[attr-defined]

    async def _rows(self, session: AsyncSession, keys: Sequence[_Key], now: datetime) -> list[PinCounter]:
        """The keys' rows, created if missing, locked against other writers (in key order)."""
        rows = []
        for key in sorted(keys, key=lambda k: (k.scope, k.subject)):
            insert = (
                postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            )(PinCounter).values(scope=key.scope, subject=key.subject, attempts=0, lockouts=0, updated_at=now)
            await session.execute(insert.on_conflict_do_nothing(index_elements=["scope", "subject"]))
            row = await _locked(session, key)
            assert row is not None
            if row.updated_at < now - self._forget:  # any lock ended long ago (forget >= 2 caps)
                row.attempts = row.lockouts = 0
                row.locked_until = None
            rows.append(row)
        return rows

    async def _reserve(self, keys: Sequence[_Key], actor: Actor) -> bool:
        """Take one try from every key's budget; False (nothing taken) if any is locked."""
        if not keys:
            return True
        now = self._clock()
        async with self._db.transaction() as session:
            rows = await self._rows(session, keys, now)
            refused = False
            for row in rows:
                if row.locked_until is not None and row.locked_until > now:
                    refused = True
                elif row.attempts >= self.lock_after:
                    # The budget is taken by tries still being verified (or by
                    # a try a crash never settled): lock now rather than wait.
                    await self._lock(session, row, now, actor)
                    refused = True
            if refused:
                for row in rows:
                    if row.attempts == row.lockouts == 0 and row.locked_until is None:
                        await session.delete(row)
                return False
            for row in rows:
                row.attempts += 1
                row.updated_at = now
            return True

    async def _settle(self, keys: Sequence[_Key], ok: bool, actor: Actor) -> None:
        if not keys:
            return
        now = self._clock()
        async with self._db.transaction() as session:
            for key in sorted(keys, key=lambda k: (k.scope, k.subject)):
                row = await _locked(session, key)
                if row is None:  # cleared by an admin meanwhile
                    continue
                locked = row.locked_until is not None and row.locked_until > now
                if ok and key.scope == EXTENSION:
                    if locked:
                        await self._audit_unlock(session, row, actor, reason="login")
                    await session.delete(row)
                elif ok:
                    row.attempts = max(0, row.attempts - 1)
                elif not locked and row.attempts >= self.lock_after:
                    await self._lock(session, row, now, actor)

    async def _lock(self, session: AsyncSession, row: PinCounter, now: datetime, actor: Actor) -> None:
        duration = min(self._base * (2 ** min(row.lockouts, 32)), self._cap)
        row.locked_until = now + duration
        row.lockouts += 1
        # After the lock one more wrong PIN locks again (for longer).
        row.attempts = self.lock_after - 1
        row.updated_at = now
        log.warning(
            "PIN locked for %s %r until %s after %d wrong PINs",
            row.scope, row.subject, row.locked_until.isoformat(), self.lock_after,
        )  # fmt: skip
        await self._audit.record(
            session,
            actor=actor,
            action=LOCKED_ACTION,
            extension=row.subject if row.scope == EXTENSION else None,
            before=None,
            after={
                "scope": row.scope,
                "subject": row.subject,
                "locked_until": row.locked_until.isoformat(),
                "seconds": int(duration.total_seconds()),
                "lockouts": row.lockouts,
            },
        )

    async def _audit_unlock(
        self, session: AsyncSession, row: PinCounter, actor: Actor, *, reason: str
    ) -> None:
        await self._audit.record(
            session,
            actor=actor,
            action=UNLOCKED_ACTION,
            extension=row.subject if row.scope == EXTENSION else None,
            before={
                "scope": row.scope,
                "subject": row.subject,
                "locked_until": row.locked_until.isoformat() if row.locked_until else None,
                "attempts": row.attempts,
                "lockouts": row.lockouts,
            },
            after={"locked_until": None, "reason": reason},
        )

    async def operator_login(
        self, operators: OperatorService, extension: str, pin: str, *, source: str | None, actor: Actor
    ) -> PinCheck:
        """An operator's extension + PIN, by phone or web, through the one shared count.

        A disabled operator's right PIN is still just wrong (and counted), so
        the answer never tells a guesser more than "wrong".
        """

        async def verify() -> bool:
            view = await operators.get(extension)
            if view is None or not view.enabled:
                return False
            return await operators.verify_pin(extension, pin)

        return await self.attempt(extension, verify, source=source, actor=actor)

    # -- admin ----------------------------------------------------------------------

    async def unlock(self, extension: str, *, actor: Actor) -> bool:
        """Clear the extension's lock and count (audited); False if there was nothing to clear."""
        async with self._db.transaction() as session:
            row = await _locked(session, _Key(EXTENSION, extension))
            if row is None:
                return False
            await self._audit_unlock(session, row, actor, reason="admin")
            await session.delete(row)
            return True


async def _locked(session: AsyncSession, key: _Key) -> PinCounter | None:
    """The key's row, locked against concurrent writers until the transaction ends."""
    query = (
        select(PinCounter)
        .where(PinCounter.scope == key.scope, PinCounter.subject == key.subject)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).one_or_none()
