"""``tests/unit/test_services_changes.py`` on PostgreSQL (see this directory's conftest), and
what only PostgreSQL can do: commit ids out of order (SQLite has one writer at a time).
"""

from __future__ import annotations

from unit.test_services_changes import *  # noqa: F403
from unit.test_services_changes import CLI, Heard
from voicestatus.services.changes import ChangeFeed
from voicestatus.services.operators import OperatorService
from voicestatus.storage import Database
from voicestatus.storage.models import AuditLog
from voicestatus_dev.testing import ManualClock


async def test_feed_finds_an_entry_committed_after_a_later_one(db: Database, clock: ManualClock) -> None:
    """PostgreSQL hands out ids before commit: a slow transaction's entry is still announced."""
    heard = Heard()
    feed = ChangeFeed(db, heard)
    there = OperatorService(db, is_allowed=lambda e: e.startswith("1"), clock=clock)
    await feed.check()
    async with db.transaction() as slow:
        slow.add(AuditLog(at=clock.now, actor="cli:slow", action="operator.update", extension="104"))
        await slow.flush()  # its id is taken now, below the next one
        await there.update("105", message_enabled=False, actor=CLI)
        assert await feed.check() == ["105"]
    assert await feed.check() == ["104"]
