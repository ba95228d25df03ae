"""AuditService and Actor: entries written in or out of a transaction, and filtered reads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from voicestatus.errors import InvalidInput
from voicestatus.services.audit import Actor, AuditService
from voicestatus.storage import Database
from voicestatus_dev.testing import ManualClock


@pytest.fixture
def audit(db: Database, clock: ManualClock) -> AuditService:
    return AuditService(db, clock=clock)


def test_actor_renders_and_parses() -> None:
    actor = Actor("phone", "PJSIP/101-0000001a")
    assert str(actor) == "phone:PJSIP/101-0000001a"
    assert Actor.parse(str(actor)) == actor
    assert Actor.parse("token:ci") == Actor("token", "ci")
    for bad in ("alice", "root:alice", ""):
        with pytest.raises(InvalidInput):
            Actor.parse(bad)


async def test_record_and_filter(audit: AuditService, clock: ManualClock) -> None:
    start = clock.now
    await audit.record(
        None,
        actor=Actor("admin", "alice"),
        action="operator.update",
        extension="101",
        before={"name": None},
        after={"name": "A"},
    )
    clock.advance(timedelta(hours=1))
    await audit.record(
        None, actor="cli:", action="admin.create", extension=None, before=None, after={"username": "bob"}
    )
    clock.advance(timedelta(hours=1))
    await audit.record(
        None,
        actor=Actor("admin", "bob"),
        action="message.delete",
        extension="102",
        before={"sha256": "a" * 64},
        after=None,
    )

    entries, total = await audit.list()
    assert total == 3
    assert [e.action for e in entries] == ["message.delete", "admin.create", "operator.update"]
    oldest = entries[2]
    assert oldest.at == start
    assert oldest.actor == "admin:alice"
    assert oldest.before == {"name": None}
    assert oldest.after == {"name": "A"}

    assert (await audit.list(extension="101"))[1] == 1
    assert (await audit.list(actor="admin"))[1] == 2
    assert (await audit.list(actor="admin:bob"))[1] == 1
    assert (await audit.list(actor="cli"))[1] == 1
    assert (await audit.list(action="admin.create"))[1] == 1
    assert (await audit.list(since=start + timedelta(hours=1)))[1] == 2
    assert (await audit.list(until=start + timedelta(hours=1)))[1] == 1
    page, total = await audit.list(offset=1, limit=1)
    assert total == 3
    assert [e.action for e in page] == ["admin.create"]
    with pytest.raises(InvalidInput):
        await audit.list(limit=100_000)


async def test_entry_in_a_rolled_back_transaction_is_not_kept(audit: AuditService, db: Database) -> None:
    async def change_that_fails() -> None:
        async with db.transaction() as session:
            await audit.record(
                session,
                actor=Actor("system", "retention"),
                action="x",
                extension=None,
                before=None,
                after=None,
            )
            raise RuntimeError("change failed")

    with pytest.raises(RuntimeError, match="change failed"):
        await change_that_fails()
    assert (await audit.list())[1] == 0


async def test_filters_must_be_printable_text(audit: AuditService) -> None:
    # PostgreSQL cannot even compare text holding NUL; every backend answers the same.
    with pytest.raises(InvalidInput, match="extension"):
        await audit.list(extension="101\x00")
    with pytest.raises(InvalidInput, match="actor"):
        await audit.list(actor="admin:\x00")
    with pytest.raises(InvalidInput, match="action"):
        await audit.list(action="operator.update\x00")


async def test_control_characters_in_an_actor_are_stored_replaced(audit: AuditService) -> None:
    await audit.record(
        None, actor="token:ci\x00\n", action="x", extension=None, before={"note": "a\x00b"}, after=None
    )
    entries, _ = await audit.list()
    assert entries[0].actor == "token:ci\ufffd\ufffd"
    assert entries[0].before == {"note": "a\x00b"}
