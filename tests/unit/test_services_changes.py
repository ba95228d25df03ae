"""Change notification: the services announce their own changes, the feed finds other processes'."""

from __future__ import annotations

from datetime import timedelta

import pytest

from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.changes import ChangeFeed, ChangeNotifier
from voicestatus.services.messages import MessageService
from voicestatus.services.operators import OperatorService
from voicestatus.storage import Database
from voicestatus_dev.testing import ManualClock

ADMIN = Actor("admin", "alice")
CLI = Actor("cli", "root")
SHA_A, SHA_B = "a" * 64, "b" * 64


class Heard:
    """A listener that remembers the extensions it was told about."""

    def __init__(self) -> None:
        self.extensions: list[str] = []

    async def __call__(self, extension: str) -> None:
        self.extensions.append(extension)

    def take(self) -> list[str]:
        taken, self.extensions = self.extensions, []
        return taken


@pytest.fixture
def heard(ops: OperatorService) -> Heard:
    listener = Heard()
    ops.changes.subscribe(listener)
    return listener


async def accept(messages: MessageService, sha: str, ext: str = "101") -> None:
    await messages.accept(
        ext, 1, sha256=sha, duration=2.0, talk_duration=1.5, loudness_lufs=-20.0, actor=ADMIN
    )


async def test_operator_changes_notify_after_commit(ops: OperatorService, heard: Heard) -> None:
    await ops.update("101", message_enabled=False, actor=ADMIN)
    assert heard.take() == ["101"]
    await ops.update("101", message_enabled=False, actor=ADMIN)
    assert heard.take() == [], "nothing changed, nothing to tell"
    await ops.set_pin("102", "4711", actor=ADMIN)
    assert heard.take() == ["102"]


async def test_message_changes_notify(messages: MessageService, heard: Heard) -> None:
    await accept(messages, SHA_A)
    await accept(messages, SHA_B)
    assert heard.take() == ["101", "101"]
    await messages.set_enabled("101", False, actor=ADMIN)
    assert heard.take() == ["101"]
    assert await messages.delete("101", 1, actor=ADMIN)
    assert not await messages.delete("101", 1, actor=ADMIN)
    assert heard.take() == ["101"], "a delete of nothing changes nothing"
    assert await messages.restore("101", 1, actor=ADMIN) is not None
    assert heard.take() == ["101"]


async def test_a_failing_listener_does_not_stop_the_others() -> None:
    changes = ChangeNotifier()
    after = Heard()

    async def broken(extension: str) -> None:
        raise RuntimeError("listener bug")

    changes.subscribe(broken)
    changes.subscribe(after)
    await changes.notify("101")
    assert after.take() == ["101"]


async def test_feed_announces_changes_of_other_processes_only(db: Database, clock: ManualClock) -> None:
    heard = Heard()
    feed = ChangeFeed(db, heard)
    # This process: its audit entries are marked seen as they are written.
    here = OperatorService(
        db, is_allowed=lambda e: e.startswith("1"), clock=clock, audit=AuditService(db, on_recorded=feed.seen)
    )
    # Another process on the same database (the CLI): nobody there tells this one.
    there = OperatorService(db, is_allowed=lambda e: e.startswith("1"), clock=clock)
    await there.update("109", name="before the start", actor=CLI)
    assert await feed.check() == [], "the first check only marks where to start"

    await there.update("101", message_enabled=False, actor=CLI)
    await here.update("102", message_enabled=False, actor=ADMIN)
    await there.update("103", expires_at=clock.now + timedelta(hours=1), actor=CLI)
    await there.update("101", name="Ann", actor=CLI)
    assert await feed.check() == ["101", "103"]
    assert heard.take() == ["101", "103"]
    assert await feed.check() == [], "each change is announced once"


async def test_menu_state_is_what_the_three_reads_said(
    messages: MessageService, ops: OperatorService, clock: ManualClock
) -> None:
    """``state`` (one query) agrees with ``operators.get`` + ``current`` + ``playable``."""

    async def agrees(ext: str) -> None:
        state = await messages.state(ext, default_status=1)
        op = await ops.get(ext)
        status = (op.active_status if op else None) or 1
        current = await messages.current(ext, status)
        assert (state.status, state.current, state.playing, state.message_enabled) == (
            status,
            current,
            await messages.playable(ext) is not None,
            bool(op and op.message_enabled),
        )

    await agrees("101")  # no row at all
    await accept(messages, SHA_A)
    await agrees("101")
    await messages.set_enabled("101", False, actor=ADMIN)
    await agrees("101")
    await messages.set_enabled("101", True, actor=ADMIN)
    await ops.update("101", expires_at=clock.now + timedelta(minutes=1), actor=ADMIN)
    await agrees("101")
    clock.advance(timedelta(minutes=2))
    await agrees("101")
    await ops.update("101", expires_at=None, enabled=False, actor=ADMIN)
    await agrees("101")
    await ops.update("101", enabled=True, active_status=2, actor=ADMIN)
    await agrees("101")  # the active status has no message
    await ops.update("101", active_status=None, actor=ADMIN)
    await agrees("101")
    await agrees("201")  # not an operator
