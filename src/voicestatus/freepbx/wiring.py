"""``freepbx apply`` and ``freepbx revert``: point extensions at voicestatus and back.

The order of steps is what makes this safe on a live PBX:

1. lock the extensions' rows in FreePBX (short lock wait, clear error);
2. write the values about to be replaced to our database and commit;
3. update FreePBX in one transaction, raising its own "Apply Config" flag
   (``admin.need_reload``) in the same transaction, and commit (on failure,
   roll back and undo step 2, so nothing is half-applied);
4. run the reload; if it fails the database change stands and the error says
   so, because the only thing left to do is to reload.

Every reload's outcome is written to our audit log (``freepbx.reload``). When
the last one failed and FreePBX still has its "Apply Config" flag up, running
``apply`` or ``revert`` again reloads even though no destination changes:
otherwise the retry an admin naturally tries would say "nothing to do" and
leave FreePBX on the old dialplan.

Values already equal to our destination are not saved again, so applying
twice never loses the admin's original destinations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from voicestatus.errors import VoiceStatusError
from voicestatus.freepbx import saved
from voicestatus.freepbx.reload import RELOAD_TIMEOUT, ReloadOutcome, run_reload
from voicestatus.freepbx.selection import Selection, compact, extension_order
from voicestatus.freepbx.users import Destinations, FreepbxError, UnknownExtensions, UsersTable
from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.clock import Clock, utcnow
from voicestatus.services.extensions import ExtensionPattern
from voicestatus.storage.database import Database
from voicestatus.storage.models import AuditLog

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
ReloadProgress = Callable[[float], None]
RELOAD_ACTION = "freepbx.reload"


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
    # Numbers in a range that are not extensions in FreePBX (left out, not an error).
    unused: list[str] = field(default_factory=list)
    # Extensions outside [operators] pattern, wired anyway because of --force.
    not_operators: list[str] = field(default_factory=list)
    # The last reload we ran failed and FreePBX still needs one: this run reloads (again).
    reload_pending: bool = False


class ReloadFailed(VoiceStatusError):
    """The database change is committed but FreePBX was not reloaded."""

    error_id = "freepbx-reload-failed"

    def __init__(self, message: str, outcome: Outcome) -> None:
        super().__init__(message)
        self.outcome = outcome


class NothingSelected(FreepbxError):
    error_id = "freepbx-nothing-selected"


class NotOperators(FreepbxError):
    error_id = "freepbx-not-operators"


def _group(changes: Sequence[Change]) -> dict[str, dict[str, str]]:
    by_ext: dict[str, dict[str, str]] = {}
    for c in changes:
        by_ext.setdefault(c.extension, {})[c.reason] = c.after
    return by_ext


class FreepbxWiring:
    """Applies and reverts voicestatus destinations in FreePBX.

    ``db`` is None only for a dry run on a fresh install, where our database
    does not exist yet (and a dry run must not create it): nothing saved,
    no reload recorded.
    """

    def __init__(
        self,
        db: Database | None,
        table: UsersTable,
        *,
        destination: str,
        reload_command: str,
        reload_timeout: float = RELOAD_TIMEOUT,
        reload_progress: ReloadProgress | None = None,
        audit: AuditService | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.table = table
        self.destination = destination
        self.reload_command = reload_command
        self.reload_timeout = reload_timeout
        self.reload_progress = reload_progress
        self.audit = audit or (AuditService(db, clock=clock) if db is not None else None)
        self.clock = clock

    def _our_db(self) -> Database:
        if self.db is None:
            raise RuntimeError("a change needs our database (only a dry run works without one)")
        return self.db

    async def apply(
        self,
        selection: Selection,
        reasons: Sequence[str],
        *,
        actor: Actor,
        dry_run: bool = False,
        progress: Progress | None = None,
        operators: ExtensionPattern | None = None,
        force: bool = False,
    ) -> Outcome:
        await asyncio.to_thread(self.table.begin)
        try:
            existing = await asyncio.to_thread(self.table.all_extensions) if selection.pattern else []
            candidates = selection.candidates(existing)
            current = await asyncio.to_thread(self.table.lock_destinations, candidates)
            missing = [e for e in candidates if e not in current and selection.is_literal(e)]
            if missing:
                shown = ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
                raise UnknownExtensions(
                    f"{len(missing)} extension(s) do not exist in FreePBX: {shown}. Nothing was changed."
                )
            unused = [e for e in selection.ranged if e not in current]
            wanted = sorted((e for e in candidates if e in current), key=extension_order)
            if not wanted:
                raise NothingSelected(
                    "none of the numbers given is an extension in FreePBX"
                    + (f" (unused: {compact(unused)})" if unused else "")
                    + ". Nothing was changed. Check the numbers under Applications > Extensions "
                    "in the FreePBX GUI."
                )
            strays = [e for e in wanted if operators is not None and not operators.matches(e)]
            if strays and not force:
                raise NotOperators(
                    f"{len(strays)} extension(s) are not operators under [operators] pattern "
                    f"{str(operators)!r}: {compact(strays)}. Nothing was changed. Nobody can record a "
                    "message for them, so their callers would only hear the generic 'not available'. "
                    "Add them to [operators] pattern (and restart the service), or pass --force to "
                    "wire them anyway."
                )
            outcome = Outcome(dry_run=dry_run, unused=unused, not_operators=strays)
            for ext in wanted:
                for reason in reasons:
                    change = Change(ext, reason, current[ext][reason], self.destination)
                    same = change.before == self.destination
                    (outcome.unchanged if same else outcome.changes).append(change)
            if not outcome.changes:
                outcome.reload_pending = await self._reload_pending()
                if dry_run or not outcome.reload_pending:
                    return outcome
            elif dry_run:
                return outcome
            else:
                previous = await self._save(outcome.changes)
                try:
                    await self._write(outcome.changes, progress)
                except BaseException:
                    await asyncio.to_thread(self.table.close)
                    async with self._our_db().transaction() as session:
                        await saved.restore_saved(session, previous, self.clock())
                    raise
                await self._audit_apply(outcome.changes, actor)
        finally:
            await asyncio.to_thread(self.table.close)
        return await self._reload(outcome, "applied", actor)

    async def revert(
        self,
        selection: Selection | None,
        reasons: Sequence[str],
        *,
        actor: Actor,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> Outcome:
        stored: dict[saved.Key, str] = {}
        if self.db is not None:
            async with self.db.session() as session:
                stored = await saved.load(session)
        stored = {
            k: v
            for k, v in stored.items()
            if k[1] in reasons and (selection is None or selection.matches(k[0]))
        }
        outcome = Outcome(dry_run=dry_run)
        extensions = list(dict.fromkeys(ext for ext, _ in sorted(stored, key=_order)))
        await asyncio.to_thread(self.table.begin)
        try:
            current = await asyncio.to_thread(self.table.lock_destinations, extensions) if extensions else {}
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
            if not outcome.changes:
                outcome.reload_pending = await self._reload_pending()
            if dry_run:
                return outcome
            if outcome.changes:
                await self._write(outcome.changes, progress)
            if forget:
                async with self._our_db().transaction() as session:
                    await saved.forget(session, forget)
                    for ext, values in _group(outcome.changes).items():
                        await self._audit().record(
                            session,
                            actor=actor,
                            action="freepbx.revert",
                            extension=ext,
                            before=dict.fromkeys(values, self.destination),
                            after=values,
                        )
        finally:
            await asyncio.to_thread(self.table.close)
        if not outcome.changes and not outcome.reload_pending:
            return outcome
        return await self._reload(outcome, "reverted", actor)

    def _audit(self) -> AuditService:
        if self.audit is None:
            raise RuntimeError("a change needs our database (only a dry run works without one)")
        return self.audit

    async def _reload_pending(self) -> bool:
        """Whether our last reload failed and FreePBX still shows "Apply Config" (table open)."""
        if self.db is None:
            return False
        async with self.db.session() as session:
            last = await session.scalar(
                select(AuditLog.after)
                .where(AuditLog.action == RELOAD_ACTION)
                .order_by(AuditLog.id.desc())
                .limit(1)
            )
        if not last or last.get("ok", True):
            return False
        # Someone may have reloaded since (fwconsole, the GUI): FreePBX then lowered its flag.
        return await asyncio.to_thread(self.table.needs_reload) is not False

    async def _save(self, changes: Sequence[Change]) -> dict[saved.Key, str | None]:
        async with self._our_db().transaction() as session:
            return await saved.store(
                session, {(c.extension, c.reason): c.before for c in changes}, self.clock()
            )

    async def _audit_apply(self, changes: Sequence[Change], actor: Actor) -> None:
        async with self._our_db().transaction() as session:
            befores: Destinations = {}
            for c in changes:
                befores.setdefault(c.extension, {})[c.reason] = c.before
            for ext, values in _group(changes).items():
                await self._audit().record(
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
        await asyncio.to_thread(self.table.mark_needs_reload)
        await asyncio.to_thread(self.table.commit)
        log.info("FreePBX destinations changed for %d extension(s)", len(_group(changes)))

    async def _reload(self, outcome: Outcome, verb: str, actor: Actor) -> Outcome:
        if self.reload_progress is not None:
            self.reload_progress(0.0)
        outcome.reload = reload = await asyncio.to_thread(
            run_reload, self.reload_command, timeout=self.reload_timeout, elapsed=self.reload_progress
        )
        await self._audit().record(
            None,
            actor=actor,
            action=RELOAD_ACTION,
            extension=None,
            before=None,
            after={
                "ok": reload.ok,
                "command": reload.command,
                "exit_status": reload.returncode,
                "timed_out": reload.timed_out,
            },
        )
        if reload.ok:
            await asyncio.to_thread(self._clear_flag)
            return outcome
        count = len(_group(outcome.changes))
        if outcome.changes:
            state = f"The FreePBX database now has the {verb} destinations for {count} extension(s)"
        else:
            state = "The FreePBX database already had the destinations and the last reload had failed"
        if reload.timed_out:
            tail = reload.output.strip().splitlines()[-3:]
            last = f" Its last output: {' / '.join(tail)}." if tail else ""
            raise ReloadFailed(
                f"{state}, but '{self.reload_command}' did not finish within {self.reload_timeout:.0f} s "
                f"and was stopped.{last} FreePBX may still run the old dialplan or have "
                f"reloaded part of it; it keeps showing 'Apply Config'. Run '{self.reload_command}' by "
                "hand to see where it hangs, then run this command again (it retries the reload); if "
                "this PBX is just slow, raise [freepbx] reload_timeout.",
                outcome,
            )
        raise ReloadFailed(
            f"{state}, but the reload failed ({reload.describe()}). Until FreePBX is reloaded, "
            f"calls keep following the old destinations. Fix the cause, then run this command again "
            f"(it retries the reload) or run '{self.reload_command}' (or the Apply Config button in "
            "the FreePBX GUI).",
            outcome,
        )

    def _clear_flag(self) -> None:
        """Lower FreePBX's "Apply Config" flag after our successful reload, as fwconsole does."""
        try:
            self.table.begin()
            try:
                self.table.clear_needs_reload()
                self.table.commit()
            finally:
                self.table.close()
        except FreepbxError as exc:
            log.warning("FreePBX reloaded, but its 'Apply Config' flag could not be cleared: %s", exc.message)


def _order(key: saved.Key) -> tuple[tuple[int, int, str], str]:
    return (extension_order(key[0]), key[1])
