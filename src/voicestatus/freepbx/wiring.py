"""``freepbx apply`` and ``freepbx revert``: point extensions at voicestatus and back.

The order of steps is what makes this safe on a live PBX:

1. lock the extensions' rows in FreePBX (short lock wait, clear error);
2. write the values about to be replaced to our database and commit;
3. update FreePBX in one transaction and commit (on failure, roll back and
   undo step 2, so nothing is half-applied);
4. run the reload; if it fails the database change stands and the error says
   so, because the only thing left to do is to reload.

Values already equal to our destination are not saved again, so applying
twice never loses the admin's original destinations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from voicestatus.errors import VoiceStatusError
from voicestatus.freepbx import saved
from voicestatus.freepbx.reload import ReloadOutcome, run_reload
from voicestatus.freepbx.selection import Selection
from voicestatus.freepbx.users import Destinations, UnknownExtensions, UsersTable
from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.clock import Clock, utcnow
from voicestatus.storage.database import Database

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Change:
    extension: str
    reason: str
    before: str
    after: str


@dataclass
class Outcome:
    """What a run did (or, for ``--dry-run``, would do)."""

    changes: list[Change] = field(default_factory=list)
    unchanged: list[Change] = field(default_factory=list)
    skipped: list[tuple[Change, str]] = field(default_factory=list)
    reload: ReloadOutcome | None = None
    dry_run: bool = False


class ReloadFailed(VoiceStatusError):
    """The database change is committed but FreePBX was not reloaded."""

    error_id = "freepbx-reload-failed"

    def __init__(self, message: str, outcome: Outcome) -> None:
        super().__init__(message)
        self.outcome = outcome


def _group(changes: Sequence[Change]) -> dict[str, dict[str, str]]:
    by_ext: dict[str, dict[str, str]] = {}
    for c in changes:
        by_ext.setdefault(c.extension, {})[c.reason] = c.after
    return by_ext


class FreepbxWiring:
    """Applies and reverts voicestatus destinations in FreePBX."""

    def __init__(
        self,
        db: Database,
        table: UsersTable,
        *,
        destination: str,
        reload_command: str,
        audit: AuditService | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.table = table
        self.destination = destination
        self.reload_command = reload_command
        self.audit = audit or AuditService(db, clock=clock)
        self.clock = clock

    async def apply(
        self,
        selection: Selection,
        reasons: Sequence[str],
        *,
        actor: Actor,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> Outcome:
        await asyncio.to_thread(self.table.begin)
        try:
            existing = await asyncio.to_thread(self.table.all_extensions) if selection.pattern else []
            wanted = selection.resolve(existing)
            current = await asyncio.to_thread(self.table.lock_destinations, wanted)
            missing = [e for e in wanted if e not in current]
            if missing:
                shown = ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
                raise UnknownExtensions(
                    f"{len(missing)} extension(s) do not exist in FreePBX: {shown}. Nothing was changed."
                )
            outcome = Outcome(dry_run=dry_run)
            for ext in wanted:
                for reason in reasons:
                    change = Change(ext, reason, current[ext][reason], self.destination)
                    same = change.before == self.destination
                    (outcome.unchanged if same else outcome.changes).append(change)
            if dry_run or not outcome.changes:
                return outcome
            previous = await self._save(outcome.changes)
            try:
                await self._write(outcome.changes, progress)
            except BaseException:
                await asyncio.to_thread(self.table.close)
                async with self.db.transaction() as session:
                    await saved.restore_saved(session, previous, self.clock())
                raise
            await self._audit_apply(outcome.changes, actor)
        finally:
            await asyncio.to_thread(self.table.close)
        return await self._reload(outcome, "applied")

    async def revert(
        self,
        selection: Selection | None,
        reasons: Sequence[str],
        *,
        actor: Actor,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> Outcome:
        async with self.db.session() as session:
            stored = await saved.load(session)
        stored = {
            k: v
            for k, v in stored.items()
            if k[1] in reasons and (selection is None or selection.matches(k[0]))
        }
        outcome = Outcome(dry_run=dry_run)
        if not stored:
            return outcome
        extensions = list(dict.fromkeys(ext for ext, _ in sorted(stored, key=_order)))
        await asyncio.to_thread(self.table.begin)
        try:
            current = await asyncio.to_thread(self.table.lock_destinations, extensions)
            forget: list[saved.Key] = []
            for key in sorted(stored, key=_order):
                ext, reason = key
                now_value = current.get(ext, {}).get(reason)
                change = Change(ext, reason, now_value or "", stored[key])
                if now_value is None:
                    outcome.skipped.append((change, "no longer in FreePBX"))
                    forget.append(key)
                elif now_value == stored[key]:
                    outcome.unchanged.append(change)
                    forget.append(key)
                elif now_value != self.destination:
                    outcome.skipped.append((change, "changed in FreePBX since apply; left as it is"))
                else:
                    outcome.changes.append(change)
                    forget.append(key)
            if dry_run:
                return outcome
            if outcome.changes:
                await self._write(outcome.changes, progress)
            async with self.db.transaction() as session:
                await saved.forget(session, forget)
                for ext, values in _group(outcome.changes).items():
                    await self.audit.record(
                        session,
                        actor=actor,
                        action="freepbx.revert",
                        extension=ext,
                        before=dict.fromkeys(values, self.destination),
                        after=values,
                    )
        finally:
            await asyncio.to_thread(self.table.close)
        if not outcome.changes:
            return outcome
        return await self._reload(outcome, "reverted")

    async def _save(self, changes: Sequence[Change]) -> dict[saved.Key, str | None]:
        async with self.db.transaction() as session:
            return await saved.store(
                session, {(c.extension, c.reason): c.before for c in changes}, self.clock()
            )

    async def _audit_apply(self, changes: Sequence[Change], actor: Actor) -> None:
        async with self.db.transaction() as session:
            befores: Destinations = {}
            for c in changes:
                befores.setdefault(c.extension, {})[c.reason] = c.before
            for ext, values in _group(changes).items():
                await self.audit.record(
                    session,
                    actor=actor,
                    action="freepbx.apply",
                    extension=ext,
                    before=dict(befores[ext]),
                    after=values,
                )

    async def _write(self, changes: Sequence[Change], progress: Progress | None) -> None:
        for ext, values in _group(changes).items():
            await asyncio.to_thread(self.table.set_destinations, ext, values)
            if progress is not None:
                progress(1)
        await asyncio.to_thread(self.table.commit)
        log.info("FreePBX destinations changed for %d extension(s)", len(_group(changes)))

    async def _reload(self, outcome: Outcome, verb: str) -> Outcome:
        outcome.reload = await asyncio.to_thread(run_reload, self.reload_command)
        if not outcome.reload.ok:
            count = len(_group(outcome.changes))
            raise ReloadFailed(
                f"The FreePBX database now has the {verb} destinations for {count} extension(s), "
                f"but the reload failed ({outcome.reload.describe()}). Until FreePBX is reloaded, "
                f"calls keep following the old destinations. Fix the cause and run "
                f"'{self.reload_command}' (or the Apply Config button in the FreePBX GUI); "
                f"running the command again changes nothing more.",
                outcome,
            )
        return outcome


def _order(key: saved.Key) -> tuple[int, str, str]:
    return (len(key[0]), key[0], key[1])
