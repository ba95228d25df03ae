"""MessageService: accept/delete/restore with history, what callers hear, stats, retention."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from voicestatus.errors import InvalidInput
from voicestatus.services.audit import Actor
from voicestatus.services.messages import MessageService, MessageView
from voicestatus.services.operators import OperatorService, UnknownOperator
from voicestatus.storage import Database
from voicestatus_dev.testing import ManualClock

PHONE = Actor("phone", "PJSIP/101-0000001a")
ADMIN = Actor("admin", "alice")
SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64


async def accept(
    messages: MessageService, sha: str, ext: str = "101", status: int = 1, actor: Actor = PHONE
) -> MessageView:
    return await messages.accept(
        ext, status, sha256=sha, duration=4.0, talk_duration=3.2, loudness_lufs=-20.1, actor=actor
    )


async def test_accept_makes_the_message_live(
    messages: MessageService, ops: OperatorService, clock: ManualClock
) -> None:
    assert await messages.playable("101") is None
    view = await accept(messages, SHA_A)
    assert (view.sha256, view.duration, view.talk_duration, view.loudness_lufs) == (SHA_A, 4.0, 3.2, -20.1)
    assert view.created_by == "phone:PJSIP/101-0000001a"
    assert view.created_at == clock.now
    assert await messages.playable("101") == view
    assert await messages.current("101", 1) == view
    op = await ops.get("101")
    assert op is not None
    assert op.active_status == 1
    assert op.message_enabled


async def test_accept_keeps_the_previous_message_as_history(
    messages: MessageService, clock: ManualClock
) -> None:
    first = await accept(messages, SHA_A)
    clock.advance(timedelta(minutes=5))
    second = await accept(messages, SHA_B)
    assert (await messages.playable("101")) == second
    history = await messages.history("101", 1)
    assert [h.id for h in history] == [first.id]
    assert not history[0].is_current
    assert history[0].retired_at == clock.now
    assert history[0].deleted_at is None


async def test_accept_is_audited_with_before_and_after(
    messages: MessageService, ops: OperatorService
) -> None:
    first = await accept(messages, SHA_A)
    second = await accept(messages, SHA_B, actor=ADMIN)
    entries, total = await ops.audit.list(extension="101", action="message.accept")
    assert total == 2
    assert entries[1].actor == "phone:PJSIP/101-0000001a"
    assert entries[1].before == {"status": 1, "message_id": None, "sha256": None, "active": False}
    assert entries[0].actor == "admin:alice"
    assert entries[0].before == {"status": 1, "message_id": first.id, "sha256": SHA_A, "active": True}
    assert entries[0].after == {"status": 1, "message_id": second.id, "sha256": SHA_B, "active": True}


async def test_actor_with_control_characters_is_kept_readable(messages: MessageService) -> None:
    view = await accept(messages, SHA_A, actor=Actor("token", "ci\x00bot"))
    assert view.created_by == "token:ci\ufffdbot"


async def test_status_messages_are_independent(messages: MessageService, ops: OperatorService) -> None:
    away = await accept(messages, SHA_A, status=1)
    lunch = await accept(messages, SHA_B, status=2)
    assert await messages.playable("101") == lunch
    assert [m.id for m in await messages.current_all("101")] == [away.id, lunch.id]
    await ops.update("101", active_status=1, actor=ADMIN)
    assert await messages.playable("101") == away
    await ops.update("101", active_status=3, actor=ADMIN)  # no message for 3
    assert await messages.playable("101") is None


async def test_concurrent_accepts_leave_one_current_and_audit_both(
    db: Database, messages: MessageService, ops: OperatorService, clock: ManualClock
) -> None:
    # A second Database on the same URL stands for a second service process.
    other_db = Database(db.url)
    other = MessageService(
        other_db, OperatorService(other_db, is_allowed=lambda e: e.startswith("1"), clock=clock), clock=clock
    )
    shas = [f"{i:064x}" for i in range(8)]
    try:
        results = await asyncio.gather(
            *(accept(messages if i % 2 else other, sha) for i, sha in enumerate(shas))
        )
    finally:
        await other_db.close()
    last = max(results, key=lambda m: m.id)
    assert await messages.current("101", 1) == last
    assert await messages.playable("101") == last
    history = await messages.history("101", 1, limit=100)
    assert {h.id for h in history} == {m.id for m in results} - {last.id}
    entries, total = await ops.audit.list(action="message.accept")
    assert total == len(shas)
    assert entries[0].after is not None
    assert entries[0].after["message_id"] == last.id
    # Each accept saw the one committed before it as "previous": a chain, no gaps.
    previous = {e.before["message_id"] for e in entries if e.before is not None}
    assert previous == {None} | {m.id for m in results} - {last.id}


async def test_delete_keeps_history_and_clears_the_active_status(
    messages: MessageService, ops: OperatorService
) -> None:
    view = await accept(messages, SHA_A)
    assert await messages.delete("101", 1, actor=PHONE)
    assert await messages.playable("101") is None
    assert await messages.current("101", 1) is None
    op = await ops.get("101")
    assert op is not None
    assert op.active_status is None
    (kept,) = await messages.history("101", 1)
    assert kept.id == view.id
    assert kept.deleted_at is not None
    assert not await messages.delete("101", 1, actor=PHONE)  # nothing left to delete
    entries, total = await ops.audit.list(action="message.delete")
    assert total == 1
    assert entries[0].actor == "phone:PJSIP/101-0000001a"
    assert entries[0].before == {"status": 1, "message_id": view.id, "sha256": SHA_A, "active": True}


async def test_delete_of_inactive_status_keeps_the_active_one(
    messages: MessageService, ops: OperatorService
) -> None:
    await accept(messages, SHA_A, status=2)
    live = await accept(messages, SHA_B, status=1)
    assert await messages.delete("101", 2, actor=PHONE)
    assert await messages.playable("101") == live


async def test_restore_undoes_a_delete(messages: MessageService, ops: OperatorService) -> None:
    view = await accept(messages, SHA_A)
    await messages.delete("101", 1, actor=PHONE)
    restored = await messages.restore("101", 1, actor=PHONE)
    assert restored is not None
    assert restored.id == view.id
    assert restored.is_current
    assert restored.deleted_at is None
    assert restored.retired_at is None
    assert (await messages.playable("101")) == restored
    assert (await ops.audit.list(action="message.restore"))[1] == 1


async def test_restore_undoes_an_accept_and_again_redoes_it(
    messages: MessageService, clock: ManualClock
) -> None:
    first = await accept(messages, SHA_A)
    clock.advance(timedelta(seconds=1))
    second = await accept(messages, SHA_B)
    clock.advance(timedelta(seconds=1))
    undone = await messages.restore("101", 1, actor=PHONE)
    assert undone is not None
    assert undone.id == first.id
    assert [h.id for h in await messages.history("101", 1)] == [second.id]
    clock.advance(timedelta(seconds=1))
    redone = await messages.restore("101", 1, actor=PHONE)
    assert redone is not None
    assert redone.id == second.id


async def test_restore_without_history_returns_none(messages: MessageService) -> None:
    assert await messages.restore("101", 1, actor=PHONE) is None


async def test_switching_off_keeps_the_message(messages: MessageService, ops: OperatorService) -> None:
    view = await accept(messages, SHA_A)
    assert await messages.set_enabled("101", False, actor=PHONE) is False
    assert await messages.playable("101") is None
    assert await messages.current("101", 1) == view
    assert await messages.set_enabled("101", True, actor=PHONE) is True
    assert await messages.playable("101") == view
    entries, _ = await ops.audit.list(extension="101")
    assert [e.action for e in entries[:2]] == ["message.enable", "message.disable"]
    await messages.set_enabled("101", True, actor=PHONE)  # unchanged: no new entry
    assert (await ops.audit.list(extension="101"))[1] == len(entries)


async def test_disabled_operator_is_not_heard(messages: MessageService, ops: OperatorService) -> None:
    await accept(messages, SHA_A)
    await ops.update("101", enabled=False, actor=ADMIN)
    assert await messages.playable("101") is None


async def test_message_expires(messages: MessageService, ops: OperatorService, clock: ManualClock) -> None:
    view = await accept(messages, SHA_A)
    await ops.update("101", expires_at=clock.now + timedelta(hours=1), actor=ADMIN)
    assert await messages.playable("101") == view
    clock.advance(timedelta(minutes=59, seconds=59))
    assert await messages.playable("101") == view
    clock.advance(timedelta(seconds=1))
    assert await messages.playable("101") is None


async def test_unknown_operators(messages: MessageService) -> None:
    with pytest.raises(UnknownOperator):
        await accept(messages, SHA_A, ext="201")
    assert await messages.playable("201") is None
    assert await messages.current("201", 1) is None
    with pytest.raises(UnknownOperator):
        await messages.delete("201", 1, actor=ADMIN)


@pytest.mark.parametrize(
    "bad",
    [
        {"status": 0},
        {"status": 10},
        {"sha256": "A" * 64},
        {"sha256": "../" + "a" * 61},
        {"duration": 0.0},
        {"duration": float("nan")},
        {"talk_duration": 5.0},
        {"loudness_lufs": float("-inf")},
    ],
)
async def test_accept_refuses_bad_input_and_changes_nothing(
    messages: MessageService, bad: dict[str, object]
) -> None:
    args: dict[str, object] = {
        "status": 1,
        "sha256": SHA_A,
        "duration": 4.0,
        "talk_duration": 3.0,
        "loudness_lufs": -20.0,
    }
    args.update(bad)
    with pytest.raises(InvalidInput):
        await messages.accept("101", actor=PHONE, **args)  # type: ignore[arg-type]
    assert await messages.current_all("101") == []


async def test_play_stats_count_and_remember_last_play(messages: MessageService, clock: ManualClock) -> None:
    view = await accept(messages, SHA_A)
    assert (await messages.play_stats(view.id)).count == 0
    await messages.record_play(view.id)
    clock.advance(timedelta(minutes=1))
    await asyncio.gather(*(messages.record_play(view.id) for _ in range(5)))
    stats = await messages.play_stats(view.id)
    assert stats.count == 6
    assert stats.last_played_at == clock.now
    await messages.record_play(999_999)  # purged meanwhile: ignored


async def test_purge_removes_old_history_and_reports_unreferenced_audio(
    messages: MessageService, clock: ManualClock
) -> None:
    a = await accept(messages, SHA_A)
    await messages.record_play(a.id)
    await accept(messages, SHA_B)  # A -> history
    await accept(messages, SHA_A, ext="102")  # SHA_A still used by 102
    await accept(messages, SHA_C, status=2)  # B stays current for status 1
    await messages.delete("101", 2, actor=PHONE)  # C deleted -> history
    assert await messages.purge(older_than=timedelta(days=30)) == []
    clock.advance(timedelta(days=31))
    assert await messages.purge(older_than=timedelta(days=30)) == [SHA_C]
    assert await messages.history("101", 1) == []
    assert await messages.history("101", 2) == []
    assert (await messages.play_stats(a.id)).count == 0
    assert (await messages.current("101", 1)) is not None
    assert (await messages.current("102", 1)) is not None
    with pytest.raises(InvalidInput):
        await messages.purge(older_than=timedelta(days=-1))
