"""The PIN lock-out on a real database (SQLite and PostgreSQL), with a manual clock.

The same guard runs on the sandbox Asterisk and the web login in
tests/integration/test_menu_pin_lock.py; here the counting rules are
pinned down quickly, including the race that matters: tries in flight at
the same time must not all get a verification.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.operators import OperatorService
from voicestatus.services.pin_guard import PinCheck, PinGuard
from voicestatus.storage import Database
from voicestatus_dev.testing import ManualClock

ADMIN = Actor("admin", "test")
PHONE = Actor("phone", "PJSIP/102-00000001")


class Verifier:
    """Stands for the PIN check and counts how often the guard let it run."""

    def __init__(self, result: bool = False, gate: asyncio.Event | None = None) -> None:
        self.result = result
        self.gate = gate
        self.calls = 0

    async def __call__(self) -> bool:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.result


def make_guard(db: Database, clock: ManualClock, ops: OperatorService) -> PinGuard:
    return PinGuard(
        db,
        ops.audit,
        is_allowed=ops.allowed,
        lock_after=5,
        lock_seconds=60,
        max_lock_seconds=3600,
        clock=clock,
    )


async def wrong(guard: PinGuard, times: int, extension: str = "101", source: str | None = None) -> None:
    for _ in range(times):
        assert await guard.attempt(extension, Verifier(), source=source, actor=PHONE) is PinCheck.WRONG


async def actions(audit: AuditService) -> list[str]:
    entries, _ = await audit.list()
    return [e.action for e in reversed(entries)]


async def test_five_wrong_pins_lock_and_a_locked_pin_is_never_verified(
    db: Database, clock: ManualClock, ops: OperatorService
) -> None:
    guard = make_guard(db, clock, ops)
    await wrong(guard, 5)
    assert await guard.locked_until("101") == clock() + timedelta(seconds=60)
    right = Verifier(True)
    assert await guard.attempt("101", right, source=None, actor=PHONE) is PinCheck.LOCKED
    assert right.calls == 0, "no verification while locked"
    assert await guard.locks(["101", "102"]) == {"101": clock() + timedelta(seconds=60)}
    entries, _ = await ops.audit.list(action="pin-locked")
    assert [(e.extension, e.actor, e.after and e.after["seconds"]) for e in entries] == [
        ("101", str(PHONE), 60)
    ]


async def test_lock_outs_double_up_to_the_cap(db: Database, clock: ManualClock, ops: OperatorService) -> None:
    guard = make_guard(db, clock, ops)
    await wrong(guard, 5)
    lengths = []
    for _ in range(8):
        until = await guard.locked_until("101")
        assert until is not None
        lengths.append(int((until - clock()).total_seconds()))
        clock.advance(until - clock() + timedelta(seconds=1))
        await wrong(guard, 1)  # one more wrong PIN after a lock locks again
    assert lengths == [60, 120, 240, 480, 960, 1920, 3600, 3600]


async def test_success_clears_the_extension_but_not_the_source(
    db: Database, clock: ManualClock, ops: OperatorService
) -> None:
    guard = make_guard(db, clock, ops)
    await wrong(guard, 4, "101", source="phone:102")
    assert await guard.attempt("101", Verifier(True), source="phone:102", actor=PHONE) is PinCheck.OK
    await wrong(guard, 4, "101")
    assert await guard.locked_until("101") is None, "the success started the count again"
    # The source keeps its 4 failures: knowing one PIN does not buy more guesses elsewhere.
    await wrong(guard, 1, "103", source="phone:102")
    assert await guard.locked_until(source="phone:102") is not None
    assert await guard.attempt("104", Verifier(True), source="phone:102", actor=PHONE) is PinCheck.LOCKED


async def test_one_source_walking_extensions_is_locked(
    db: Database, clock: ManualClock, ops: OperatorService
) -> None:
    guard = make_guard(db, clock, ops)
    for extension in ("101", "102", "103", "104", "105"):
        await wrong(guard, 1, extension, source="web:192.0.2.7")
    right = Verifier(True)
    assert await guard.attempt("106", right, source="web:192.0.2.7", actor=PHONE) is PinCheck.LOCKED
    assert right.calls == 0
    assert await guard.attempt("106", Verifier(True), source="web:192.0.2.8", actor=PHONE) is PinCheck.OK
    locked, _ = await ops.audit.list(action="pin-locked")
    assert [(e.extension, e.after and e.after["subject"]) for e in locked] == [(None, "web:192.0.2.7")]


async def test_parallel_tries_get_at_most_the_allowed_verifications(
    db: Database, clock: ManualClock, ops: OperatorService
) -> None:
    guard = make_guard(db, clock, ops)
    gate = asyncio.Event()
    verifier = Verifier(False, gate)
    tries = [asyncio.create_task(guard.attempt("101", verifier, source=None, actor=PHONE)) for _ in range(12)]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while sum(t.done() for t in tries) < 12 - 5 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    gate.set()
    results = await asyncio.gather(*tries)
    assert verifier.calls == 5, "counted before verifying: only 5 tries reached the PIN check"
    assert results.count(PinCheck.WRONG) == 5
    assert results.count(PinCheck.LOCKED) == 7
    assert await guard.locked_until("101") is not None
    assert (await actions(ops.audit)).count("pin-locked") == 1


async def test_admin_unlock_is_audited_and_lets_the_pin_in(
    db: Database, clock: ManualClock, ops: OperatorService
) -> None:
    guard = make_guard(db, clock, ops)
    await wrong(guard, 5)
    assert await guard.unlock("101", actor=ADMIN) is True
    assert await guard.locked_until("101") is None
    assert await guard.attempt("101", Verifier(True), source=None, actor=PHONE) is PinCheck.OK
    assert await guard.unlock("101", actor=ADMIN) is False, "nothing left to clear"
    assert await actions(ops.audit) == ["pin-locked", "pin-unlocked"]
    entry = (await ops.audit.list(action="pin-unlocked"))[0][0]
    assert (entry.actor, entry.extension) == ("admin:test", "101")


async def test_non_operators_get_no_row_and_old_counts_are_forgotten(
    db: Database, clock: ManualClock, ops: OperatorService
) -> None:
    guard = make_guard(db, clock, ops)
    await wrong(guard, 10, "999")  # not an operator (the fixture's operators start with 1)
    assert await guard.locks(["999"]) == {}
    assert await guard.locked_until("999") is None
    await wrong(guard, 4)
    clock.advance(timedelta(days=2))
    await wrong(guard, 4)
    assert await guard.locked_until("101") is None, "a two-day-old count was forgotten"


async def test_lock_outs_are_forgotten_a_day_after_the_last_wrong_pin(
    db: Database, clock: ManualClock, ops: OperatorService
) -> None:
    guard = make_guard(db, clock, ops)
    await wrong(guard, 5)
    clock.advance(timedelta(minutes=2))
    await wrong(guard, 1)  # the second lock-out: 2 minutes
    until = await guard.locked_until("101")
    assert until == clock() + timedelta(minutes=2)
    clock.advance(timedelta(days=1, minutes=1))
    await wrong(guard, 4)
    assert await guard.locked_until("101") is None, "a fresh budget of 5"
    await wrong(guard, 1)
    assert await guard.locked_until("101") == clock() + timedelta(seconds=60), "back to the first length"


async def test_counts_of_many_sources_do_not_pile_up(
    db: Database, clock: ManualClock, ops: OperatorService
) -> None:
    """A spray of web addresses leaves rows only until they are forgotten, not for ever."""
    from sqlalchemy import func, select

    from voicestatus.storage.models import PinCounter

    guard = make_guard(db, clock, ops)
    for n in range(50):
        await wrong(guard, 1, "999", source=f"web:2001:db8::{n:x}")
    clock.advance(timedelta(days=2))
    async with db.session() as session:
        before = await session.scalar(select(func.count()).select_from(PinCounter))
    await wrong(guard, 1, "102", source="web:192.0.2.1")
    async with db.session() as session:
        after = await session.scalar(select(func.count()).select_from(PinCounter))
    assert before is not None
    assert before >= 50
    assert after == 2, "only the try just made is left: its extension's count and its source's"
