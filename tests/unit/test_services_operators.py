"""OperatorService: defaults for allowed extensions, PINs, updates, listing, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from voicestatus.errors import InvalidInput
from voicestatus.services.audit import Actor
from voicestatus.services.messages import MessageService
from voicestatus.services.operators import OperatorService, OperatorView, UnknownOperator
from voicestatus.storage import Database
from voicestatus.storage.models import Operator
from voicestatus_dev.testing import ManualClock

ADMIN = Actor("admin", "alice")
SHA = "ab" * 32


def is_allowed(ext: str) -> bool:
    return len(ext) == 3 and ext.startswith("1")


@pytest.fixture
def ops(db: Database, clock: ManualClock) -> OperatorService:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return OperatorService(db, is_allowed=is_allowed, clock=clock, pin_hasher=cheap)


async def test_allowed_extension_without_row_has_defaults_and_stays_unsaved(
    ops: OperatorService, db: Database
) -> None:
    view = await ops.get("101")
    assert view == OperatorView("101", None, False, True, None, True, None, None)
    async with db.session() as s:
        assert (await s.scalars(select(Operator))).all() == []


async def test_disallowed_or_malformed_extensions_are_not_operators(ops: OperatorService) -> None:
    for ext in ("201", "10", "1O1", "", "101; DROP TABLE operators", "١٠١"):
        assert await ops.get(ext) is None
        with pytest.raises(UnknownOperator):
            await ops.ensure(ext)


async def test_ensure_creates_the_row_once(ops: OperatorService, clock: ManualClock) -> None:
    first = await ops.ensure("101")
    clock.advance(timedelta(minutes=1))
    second = await ops.ensure("101")
    assert first == second
    assert first.updated_at == clock.now - timedelta(minutes=1)


async def test_pin_is_hashed_and_verified(ops: OperatorService, db: Database) -> None:
    assert not await ops.verify_pin("101", "1234")  # no PIN set yet
    await ops.set_pin("101", "1234", actor=ADMIN)
    async with db.session() as s:
        stored = await s.get(Operator, "101")
    assert stored is not None
    assert stored.pin_hash is not None
    assert "1234" not in stored.pin_hash
    assert stored.pin_hash.startswith("$argon2")
    assert (await ops.get("101")).has_pin  # type: ignore[union-attr]
    assert await ops.verify_pin("101", "1234")
    assert not await ops.verify_pin("101", "4321")
    assert not await ops.verify_pin("101", "12a4")
    assert not await ops.verify_pin("201", "1234")
    await ops.set_pin("101", None, actor=ADMIN)
    assert not await ops.verify_pin("101", "1234")
    assert not (await ops.get("101")).has_pin  # type: ignore[union-attr]


@pytest.mark.parametrize("pin", ["123", "123456789012345678901", "12 34", "abcd", ""])
async def test_bad_pins_are_refused(ops: OperatorService, pin: str) -> None:
    with pytest.raises(InvalidInput):
        await ops.set_pin("101", pin, actor=ADMIN)
    assert await ops.get("101") is not None
    assert not (await ops.get("101")).has_pin  # type: ignore[union-attr]


async def test_pin_is_rehashed_when_parameters_change(db: Database, clock: ManualClock) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    stronger = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    old = OperatorService(db, is_allowed=is_allowed, clock=clock, pin_hasher=weak)
    await old.set_pin("101", "2468", actor=ADMIN)
    new = OperatorService(db, is_allowed=is_allowed, clock=clock, pin_hasher=stronger)
    assert await new.verify_pin("101", "2468")
    async with db.session() as s:
        row = await s.get(Operator, "101")
    assert row is not None
    assert row.pin_hash is not None
    assert "t=2" in row.pin_hash
    assert await new.verify_pin("101", "2468")


async def test_pin_changes_are_audited_without_the_pin(ops: OperatorService) -> None:
    await ops.set_pin("101", "1234", actor=ADMIN)
    await ops.set_pin("101", None, actor=Actor("phone", "PJSIP/101-00000001"))
    entries, total = await ops.audit.list(extension="101")
    assert total == 2
    assert [e.action for e in entries] == ["operator.pin_cleared", "operator.pin_set"]
    assert entries[0].actor == "phone:PJSIP/101-00000001"
    assert entries[1].before == {"has_pin": False}
    assert entries[1].after == {"has_pin": True}
    assert all("1234" not in repr(e) for e in entries)


async def test_update_changes_only_given_fields_and_audits_them(
    ops: OperatorService, clock: ManualClock
) -> None:
    expiry = datetime(2030, 1, 2, 9, 0, tzinfo=timezone(timedelta(hours=3)))
    view = await ops.update("101", name="  Alice   Smith ", expires_at=expiry, actor=ADMIN)
    assert view.name == "Alice Smith"
    assert view.expires_at == expiry
    assert view.expires_at.tzinfo is UTC
    assert view.enabled
    assert view.message_enabled
    assert view.active_status is None
    view = await ops.update("101", enabled=False, active_status=None, actor=ADMIN)
    assert not view.enabled
    assert view.name == "Alice Smith"
    view = await ops.update("101", name=None, expires_at=None, actor=ADMIN)
    assert view.name is None
    assert view.expires_at is None
    entries, total = await ops.audit.list(extension="101", action="operator.update")
    assert total == 3
    assert entries[2].before == {"name": None, "expires_at": None}
    assert entries[2].after == {"name": "Alice Smith", "expires_at": "2030-01-02T06:00:00+00:00"}
    assert entries[1].after == {"enabled": False}  # active_status was already None


async def test_update_without_change_writes_no_audit(ops: OperatorService) -> None:
    await ops.update("101", enabled=True, actor=ADMIN)
    assert (await ops.audit.list())[1] == 0


@pytest.mark.parametrize(
    "change",
    [
        {"active_status": 0},
        {"active_status": 10},
        {"active_status": True},
        {"enabled": "yes"},
        {"name": "x" * 101},
        {"name": "bell\x07"},
        {"expires_at": datetime(2030, 1, 1)},
    ],
)
async def test_update_refuses_bad_values_and_changes_nothing(
    ops: OperatorService, change: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput):
        await ops.update("101", actor=ADMIN, **change)  # type: ignore[arg-type]
    assert (await ops.get("101")) == OperatorView("101", None, False, True, None, True, None, None)


async def test_update_of_unknown_operator_is_refused(ops: OperatorService) -> None:
    with pytest.raises(UnknownOperator):
        await ops.update("555", name="x", actor=ADMIN)


async def test_list_orders_numerically_searches_and_pages(ops: OperatorService) -> None:
    for ext in ("110", "102", "101", "199"):
        await ops.ensure(ext)
    await ops.update("110", name="Reception Desk", actor=ADMIN)
    views, total = await ops.list(offset=0, limit=2)
    assert [v.extension for v in views] == ["101", "102"]
    assert total == 4
    views, total = await ops.list(offset=2, limit=2)
    assert [v.extension for v in views] == ["110", "199"]
    assert total == 4
    views, total = await ops.list(search="recep")
    assert [v.extension for v in views] == ["110"]
    assert total == 1
    views, total = await ops.list(search="19")
    assert [v.extension for v in views] == ["199"]
    views, total = await ops.list(search="%")
    assert views == []
    assert total == 0
    with pytest.raises(InvalidInput):
        await ops.list(limit=0)
    with pytest.raises(InvalidInput, match="search"):
        await ops.list(search="1\x00")


async def test_list_by_state(ops: OperatorService, db: Database, clock: ManualClock) -> None:
    messages = MessageService(db, ops, clock=clock)
    for ext in ("101", "102", "103", "104"):
        await messages.accept(
            ext, 1, sha256=SHA, duration=3.0, talk_duration=2.0, loudness_lufs=-20.0, actor=ADMIN
        )
    await ops.update("102", expires_at=clock.now + timedelta(hours=1), actor=ADMIN)
    await ops.update("103", expires_at=clock.now - timedelta(seconds=1), actor=ADMIN)
    await messages.set_enabled("104", False, actor=ADMIN)
    await ops.ensure("105")

    async def exts(state: str) -> list[str]:
        views, _ = await ops.list(state=state)  # type: ignore[arg-type]
        return [v.extension for v in views]

    assert await exts("active") == ["101", "102"]
    assert await exts("expired") == ["103"]
    assert await exts("none") == ["104", "105"]
    clock.advance(timedelta(hours=2))
    assert await exts("active") == ["101"]
    assert await exts("expired") == ["102", "103"]
