"""PostgreSQL as several service instances use it: one schema, shared writes, full audit.

The unit tests already run every storage and service test on PostgreSQL too;
these are the things only a shared server shows: instances migrating at the
same moment, instances writing the same operator at the same moment, a server
whose session timezone is not UTC, JSON stored as JSON, and the whole service
starting on a ``postgresql://`` URL.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from postgres_server import autocommit_connection, create_test_database, drop_test_database
from support import free_port
from voicestatus.app import Service
from voicestatus.config import config_from_dict
from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.messages import MessageService, MessageView
from voicestatus.services.operators import OperatorService
from voicestatus.storage import Database, current_revision, head_revision
from voicestatus.storage.database import _PG_MIGRATION_LOCK
from voicestatus_dev.testing import ManualClock

ADMIN = Actor("admin", "alice")
TABLES = {
    "operators",
    "messages",
    "audit_log",
    "play_stats",
    "admins",
    "api_tokens",
    "web_sessions",
    "freepbx_saved_destinations",
    "legacy_imports",
    "pin_guards",
    "alembic_version",
}


@pytest.fixture
async def blank_url(postgres_url: str) -> AsyncIterator[str]:
    """A database with no schema at all, as on a first deployment."""
    url = await create_test_database(postgres_url, migrated=False)
    yield url
    await drop_test_database(url)


@pytest.fixture
async def url(postgres_url: str) -> AsyncIterator[str]:
    url = await create_test_database(postgres_url)
    yield url
    await drop_test_database(url)


class Instance:
    """One service process's view of the shared database."""

    def __init__(self, url: str, clock: ManualClock) -> None:
        self.db = Database(url)
        self.operators = OperatorService(self.db, is_allowed=lambda e: e.startswith("1"), clock=clock)
        self.messages = MessageService(self.db, self.operators, clock=clock)

    async def accept(self, ext: str, status: int, n: int) -> MessageView:
        return await self.messages.accept(
            ext, status, sha256=f"{n:064x}", duration=3.0, talk_duration=2.5, loudness_lufs=None,
            actor=Actor("phone", f"PJSIP/{ext}-{n:08x}"),
        )  # fmt: skip


async def _waiting_for_lock(url: str) -> int:
    async with autocommit_connection(url) as conn:
        count = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
    return int(count or 0)


async def test_instances_starting_together_migrate_once(blank_url: str) -> None:
    instances = [Database(blank_url) for _ in range(3)]
    lock = {"key": _PG_MIGRATION_LOCK}
    try:
        async with autocommit_connection(blank_url) as holder:
            # Hold the migration lock so all three are sure to meet at it.
            await holder.execute(text("SELECT pg_advisory_lock(:key)"), lock)
            tasks = [asyncio.create_task(db.migrate()) for db in instances]
            deadline = asyncio.get_running_loop().time() + 15
            while await _waiting_for_lock(blank_url) < len(instances):
                assert asyncio.get_running_loop().time() < deadline, "instances did not queue on the lock"
                await asyncio.sleep(0.02)
            assert not any(t.done() for t in tasks)
            await holder.execute(text("SELECT pg_advisory_unlock(:key)"), lock)
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        db = instances[0]
        async with db.engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert names == TABLES
        assert [v[0] for v in versions] == [head_revision()]
        assert await current_revision(db.engine) == head_revision()
    finally:
        for db in instances:
            await db.close()


async def test_two_instances_accepting_at_once_keep_the_last_and_audit_all(url: str) -> None:
    clock = ManualClock()
    one, two = Instance(url, clock), Instance(url, clock)
    jobs = [(ext, status, n) for n in range(12) for ext in ("101", "102") for status in (1, 2)]
    try:
        results = await asyncio.gather(
            *((one if n % 2 else two).accept(ext, status, n) for ext, status, n in jobs)
        )
        await asyncio.gather(*(inst.messages.record_play(results[0].id) for inst in (one, two) * 20))
        for ext in ("101", "102"):
            for status in (1, 2):
                mine = sorted(r.id for r in results if (r.extension, r.status) == (ext, status))
                current = await two.messages.current(ext, status)
                assert current is not None
                assert current.id == mine[-1]
                history = await one.messages.history(ext, status, limit=100)
                assert sorted(h.id for h in history) == mine[:-1]
                entries, total = await one.operators.audit.list(extension=ext, action="message.accept")
                chain = [(e.before or {}, e.after or {}) for e in reversed(entries)]
                chain = [(b, a) for b, a in chain if a["status"] == status]
                assert total == 2 * len(mine)
                # Each accept saw the one committed just before it: no lost update.
                assert [b["message_id"] for b, _ in chain] == [None, *mine[:-1]]
                assert [a["message_id"] for _, a in chain] == mine
        stats = await one.messages.play_stats(results[0].id)
        assert stats.count == 40
    finally:
        await one.db.close()
        await two.db.close()


async def test_mixed_changes_from_two_instances_form_one_audited_history(url: str) -> None:
    clock = ManualClock()
    one, two = Instance(url, clock), Instance(url, clock)
    rng = random.Random(7)

    async def work(inst: Instance, base: int) -> None:
        for n in range(15):
            choice = rng.choice(("accept", "accept", "delete", "restore"))
            if choice == "accept":
                await inst.accept("101", 1, base + n)
            elif choice == "delete":
                await inst.messages.delete("101", 1, actor=ADMIN)
            else:
                await inst.messages.restore("101", 1, actor=ADMIN)

    try:
        await asyncio.gather(work(one, 0), work(two, 1000))
        entries, _ = await one.operators.audit.list(extension="101", limit=1000)
        changes = [
            (e.before or {}, e.after or {}) for e in reversed(entries) if e.action.startswith("message.")
        ]
        # Every change started from what the previous one left: the writers were serialised.
        for (_, earlier), (later, _) in itertools.pairwise(changes):
            assert later["message_id"] == earlier["message_id"]
        current = await two.messages.current("101", 1)
        assert (current.id if current else None) == changes[-1][1]["message_id"]
    finally:
        await one.db.close()
        await two.db.close()


async def test_times_are_the_same_instant_whatever_the_server_timezone(url: str) -> None:
    async with autocommit_connection(url) as conn:
        await conn.exec_driver_sql(f"ALTER DATABASE {url.rsplit('/', 1)[1]} SET timezone TO 'Asia/Kathmandu'")
    clock = ManualClock(datetime(2030, 3, 31, 0, 30, tzinfo=UTC))
    inst = Instance(url, clock)
    try:
        plus3 = timezone(timedelta(hours=3))
        expires = datetime(2030, 3, 31, 4, 15, 7, 123456, tzinfo=plus3)  # 01:15:07.123456 UTC
        await inst.accept("101", 1, 1)
        view = await inst.operators.update("101", active_status=1, expires_at=expires, actor=ADMIN)
        got = await inst.operators.get("101")
        assert got is not None
        assert got.expires_at == expires == view.expires_at
        assert got.expires_at is not None
        assert got.expires_at.tzinfo is UTC
        async with inst.db.session() as s:
            assert (await s.execute(text("SHOW timezone"))).scalar() == "Asia/Kathmandu"
            utc = "to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
            stored = await s.execute(text(f"SELECT {utc} FROM operators"))  # noqa: S608
            assert stored.scalar() == "2030-03-31 01:15:07.123456"
        assert await inst.messages.playable("101") is not None
        assert [v.extension for v in (await inst.operators.list(state="active"))[0]] == ["101"]
        clock.advance(timedelta(hours=1))
        assert await inst.messages.playable("101") is None
        assert [v.extension for v in (await inst.operators.list(state="expired"))[0]] == ["101"]
    finally:
        await inst.db.close()


async def test_audit_details_are_stored_as_json(url: str) -> None:
    db = Database(url)
    detail = {
        "name": "Zoë ☎ <b>",
        "values": [1, 2.5, None, True, 'tab\tquote"back\\slash'],
        "nested": {"deep": {"list": [], "empty": {}}},
        "big": 2**53,
    }
    try:
        audit = AuditService(db)
        await audit.record(None, actor=ADMIN, action="x.json", extension="101", before=None, after=detail)
        entries, _ = await audit.list(action="x.json")
        assert entries[0].after == detail
        assert entries[0].before is None
        async with db.session() as s:
            kind = await s.execute(
                text(
                    "SELECT data_type FROM information_schema.columns"
                    " WHERE table_name = 'audit_log' AND column_name = 'after'"
                )
            )
            assert kind.scalar() == "json"
            query = "SELECT after->>'name', json_array_length(after->'nested'->'deep'->'list') FROM audit_log"
            assert (await s.execute(text(query))).one() == ("Zoë ☎ <b>", 0)
    finally:
        await db.close()


async def test_the_service_starts_on_postgresql_and_keeps_its_data(blank_url: str, tmp_path: Path) -> None:
    port = free_port()
    config = config_from_dict(
        {
            # No Asterisk here: the service keeps retrying ARI in the background.
            "ari": {"url": f"http://127.0.0.1:{free_port()}", "username": "u", "password": "p"},
            "http": {"listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}"},
            "database": {"url": blank_url},
            "media": {"dir": str(tmp_path / "media")},
        }
    )
    first = Service(config)
    await first.start()
    try:
        assert first.db.dialect == "postgresql"
        assert await current_revision(first.db.engine) == head_revision()
        await first.operators.update("101", name="Reception", active_status=1, actor=ADMIN)
        accepted = await first.messages.accept(
            "101", 1, sha256="ab" * 32, duration=2.0, talk_duration=1.5, loudness_lufs=-19.0, actor=ADMIN
        )
    finally:
        await first.stop()
    again = Service(config)
    await again.start()
    try:
        assert await again.messages.playable("101") == accepted
        view = await again.operators.get("101")
        assert view is not None
        assert view.name == "Reception"
        _, total = await again.audit.list(extension="101")
        assert total == 2
    finally:
        await again.stop()
