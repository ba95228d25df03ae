"""Housekeeping the service does by itself: expiry notifications and retention."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncSession

from support import wait_until
from voicestatus.cli import main
from voicestatus.config import config_from_dict
from voicestatus.errors import ConfigError
from voicestatus.metrics import Metrics
from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.clock import utcnow
from voicestatus.services.expiry import ExpiryWatcher
from voicestatus.services.housekeeping import MediaHousekeeper
from voicestatus.services.messages import MessageService, MessageView
from voicestatus.services.operators import OperatorService
from voicestatus.storage import Database, repository
from voicestatus.storage.media import FORMATS, MediaStore
from voicestatus_dev.testing import ManualClock

ADMIN = Actor("admin", "alice")
SHA_A, SHA_B, SHA_C, SHA_D = "a" * 64, "b" * 64, "c" * 64, "d" * 64
DAY = timedelta(days=1)
TWO_DAYS_AGO = time.time() - 2 * 86400


@pytest.fixture
def ops(db: Database, clock: ManualClock) -> OperatorService:
    return OperatorService(db, is_allowed=lambda e: e.startswith("1"), clock=clock)


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def keeper(db: Database, media: MediaStore, clock: ManualClock, metrics: Metrics) -> MediaHousekeeper:
    return MediaHousekeeper(
        db, media, history_days=30, orphan_hours=24, clock=clock, audit=AuditService(db), metrics=metrics
    )


def store(media: MediaStore, sha: str, *, mtime: float = TWO_DAYS_AGO) -> None:
    """Both variants of ``sha`` on disk, last written at ``mtime``."""
    for fmt in FORMATS:
        path = media.path(sha, fmt)
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"RIFF" + sha.encode())
        os.utime(path, (mtime, mtime))


def stored(media: MediaStore, sha: str) -> bool:
    return any(media.path(sha, fmt).exists() for fmt in FORMATS)


async def accept(messages: MessageService, sha: str, ext: str = "101", status: int = 1) -> MessageView:
    return await messages.accept(
        ext, status, sha256=sha, duration=4.0, talk_duration=3.0, loudness_lufs=-20.0, actor=ADMIN
    )


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, extension: str) -> None:
        self.calls.append(extension)


# --- expiry ---------------------------------------------------------------------


async def test_expiry_notifies_each_operator_once_when_their_time_passes(
    db: Database, ops: OperatorService, clock: ManualClock
) -> None:
    await ops.update("101", expires_at=clock.now + timedelta(minutes=10), actor=ADMIN)
    await ops.update("102", expires_at=clock.now + timedelta(minutes=20), actor=ADMIN)
    await ops.update("103", expires_at=clock.now - timedelta(minutes=1), actor=ADMIN)
    notified = Recorder()
    watcher = ExpiryWatcher(db, notified, clock=clock, max_sleep=3600)

    assert await watcher.check() == pytest.approx(600, abs=1)
    assert notified.calls == [], "an expiry before start is the mirror re-sync's business"

    clock.advance(timedelta(minutes=10))
    assert await watcher.check() == pytest.approx(600, abs=1)
    assert notified.calls == ["101"]

    clock.advance(timedelta(minutes=30))
    assert await watcher.check() == 3600, "nothing left to expire: sleep the maximum"
    assert await watcher.check() == 3600
    assert notified.calls == ["101", "102"]


async def test_expiry_sleep_is_capped(db: Database, ops: OperatorService, clock: ManualClock) -> None:
    await ops.update("101", expires_at=clock.now + timedelta(days=3), actor=ADMIN)
    watcher = ExpiryWatcher(db, Recorder(), clock=clock, max_sleep=60)
    assert await watcher.check() == 60


async def test_expiry_rereads_after_a_change(db: Database, ops: OperatorService, clock: ManualClock) -> None:
    notified = Recorder()
    watcher = ExpiryWatcher(db, notified, clock=clock, max_sleep=3600)
    await watcher.check()
    watcher.start()
    try:
        await ops.update("101", expires_at=clock.now + timedelta(minutes=5), actor=ADMIN)
        clock.advance(timedelta(minutes=6))
        await watcher.on_change("101")
        await wait_until(lambda: notified.calls == ["101"], 10, "the expiry notification")
    finally:
        await watcher.stop()


async def test_expiry_wakes_on_time_with_the_real_clock(db: Database, ops: OperatorService) -> None:
    notified = Recorder()
    watcher = ExpiryWatcher(db, notified, max_sleep=60)
    await ops.update("101", expires_at=utcnow() + timedelta(seconds=0.3), actor=ADMIN)
    watcher.start()
    try:
        await wait_until(lambda: notified.calls == ["101"], 10, "the expiry notification")
    finally:
        await watcher.stop()


# --- retention ------------------------------------------------------------------


async def test_audio_shared_with_a_live_message_survives_its_history(
    keeper: MediaHousekeeper, messages: MessageService, media: MediaStore, clock: ManualClock
) -> None:
    for sha in (SHA_A, SHA_B, SHA_C, SHA_D):
        store(media, sha)
    await accept(messages, SHA_A)
    await accept(messages, SHA_B, ext="102")
    await accept(messages, SHA_B, ext="103")  # same audio, another operator, stays live
    clock.advance(DAY)
    await accept(messages, SHA_C)
    await accept(messages, SHA_D, ext="102")
    clock.advance(40 * DAY)
    await accept(messages, SHA_A, ext="104")  # the same audio live again

    report = await keeper.purge()

    assert (report.messages, report.files, report.orphans) == (2, [], [])
    assert all(stored(media, sha) for sha in (SHA_A, SHA_B, SHA_C, SHA_D))
    assert await messages.history("101", 1) == []


async def test_purge_deletes_audio_no_message_uses(
    keeper: MediaHousekeeper, messages: MessageService, media: MediaStore, clock: ManualClock, db: Database,
    metrics: Metrics,
) -> None:  # fmt: skip
    for sha in (SHA_A, SHA_B, SHA_C):
        store(media, sha)
    await accept(messages, SHA_A)
    clock.advance(DAY)
    await accept(messages, SHA_B)  # SHA_A retired now, 39 days before the purge
    clock.advance(38 * DAY)
    await accept(messages, SHA_C)  # SHA_B retired one day before the purge: kept for undo
    clock.advance(DAY)

    report = await keeper.purge()

    assert (report.messages, report.files, report.orphans) == (1, [SHA_A], [])
    assert not stored(media, SHA_A)
    assert stored(media, SHA_B)
    assert stored(media, SHA_C)
    assert [h.sha256 for h in await messages.history("101", 1)] == [SHA_B]
    assert (await messages.playable("101")) is not None
    assert metrics.registry.get_sample_value("voicestatus_purged_total", {"kind": "files"}) == 1
    assert metrics.registry.get_sample_value("voicestatus_purged_total", {"kind": "messages"}) == 1
    entries, _ = await AuditService(db).list(action="media.purge")
    assert [(e.actor, e.after) for e in entries] == [
        ("system:retention", {"messages": 1, "files": 1, "orphans": 0, "temp_files": 0})
    ]
    again = await keeper.purge()
    assert not again.removed_anything


async def test_dry_run_reports_and_changes_nothing(
    keeper: MediaHousekeeper, messages: MessageService, media: MediaStore, clock: ManualClock, db: Database,
) -> None:  # fmt: skip
    store(media, SHA_A)
    store(media, SHA_B)
    store(media, SHA_D)  # never accepted
    await accept(messages, SHA_A)
    await accept(messages, SHA_B)
    clock.advance(31 * DAY)

    report = await keeper.purge(dry_run=True)

    assert (report.messages, report.files, report.orphans) == (1, [SHA_A], [SHA_D])
    assert stored(media, SHA_A)
    assert stored(media, SHA_D)
    assert [h.sha256 for h in await messages.history("101", 1)] == [SHA_A]
    assert (await AuditService(db).list(action="media.purge"))[1] == 0


async def test_orphans_go_after_the_grace_period_live_audio_never(
    keeper: MediaHousekeeper, messages: MessageService, media: MediaStore
) -> None:
    store(media, SHA_A)  # live message, file old
    store(media, SHA_B)  # staged for review two days ago, never accepted
    store(media, SHA_C, mtime=time.time() - 600)  # under review right now
    await accept(messages, SHA_A)
    stale_tmp = media.root / SHA_A[:2] / f".{SHA_A}.wav.x1y2.tmp"
    stale_tmp.write_bytes(b"half")
    os.utime(stale_tmp, (TWO_DAYS_AGO, TWO_DAYS_AGO))
    (media.root / "zz").mkdir()
    (media.root / "zz" / "notes.txt").write_text("not ours")

    report = await keeper.purge()

    assert (report.orphans, report.temp_files) == ([SHA_B], 1)
    assert stored(media, SHA_A)
    assert stored(media, SHA_C)
    assert not stored(media, SHA_B)
    assert not stale_tmp.exists()
    assert (media.root / "zz" / "notes.txt").exists()


async def test_a_candidate_used_again_meanwhile_keeps_its_file(
    keeper: MediaHousekeeper, messages: MessageService, media: MediaStore, clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    store(media, SHA_A)
    store(media, SHA_B)
    await accept(messages, SHA_A)
    await accept(messages, SHA_B)
    clock.advance(31 * DAY)
    real = repository.purge_history

    async def racing(session: AsyncSession, cutoff: datetime) -> list[str]:
        # As if SHA_B's message went live between the history purge and the file deletion.
        return [*await real(session, cutoff), SHA_B]

    monkeypatch.setattr(repository, "purge_history", racing)
    report = await keeper.purge()

    assert report.files == [SHA_A]
    assert report.kept == [SHA_B]
    assert stored(media, SHA_B)


async def test_history_days_zero_keeps_history_forever(
    db: Database, messages: MessageService, media: MediaStore, clock: ManualClock
) -> None:
    store(media, SHA_A)
    store(media, SHA_B)
    await accept(messages, SHA_A)
    await accept(messages, SHA_B)
    clock.advance(3650 * DAY)
    keeper = MediaHousekeeper(db, media, history_days=0, orphan_hours=24, clock=clock)
    report = await keeper.purge()
    assert not report.removed_anything
    assert stored(media, SHA_A)
    assert [h.sha256 for h in await messages.history("101", 1)] == [SHA_A]


async def test_the_daily_task_purges_on_start(
    keeper: MediaHousekeeper, media: MediaStore, metrics: Metrics
) -> None:
    store(media, SHA_D)
    keeper.start()
    try:
        await wait_until(lambda: not stored(media, SHA_D), 10, "the first purge")
    finally:
        await keeper.stop()
    assert metrics.registry.get_sample_value("voicestatus_purged_total", {"kind": "orphans"}) == 1


async def test_cli_purge(
    db: Database, messages: MessageService, media: MediaStore, clock: ManualClock, tmp_path: Path
) -> None:
    store(media, SHA_A)
    store(media, SHA_D)
    await accept(messages, SHA_A)
    config = tmp_path / "voicestatus.toml"
    config.write_text(f'[database]\nurl = "{db.url}"\n[media]\ndir = "{media.root}"\n')

    dry = await asyncio.to_thread(
        CliRunner().invoke, main, ["purge", "--dry-run", "--config", str(config)], catch_exceptions=False
    )
    assert dry.exit_code == 0, dry.output
    assert f"never-accepted audio would remove: 1\n  {SHA_D}" in dry.output
    assert stored(media, SHA_D)

    real = await asyncio.to_thread(
        CliRunner().invoke, main, ["purge", "--config", str(config)], catch_exceptions=False
    )
    assert real.exit_code == 0, real.output
    assert "never-accepted audio removed: 1" in real.output
    assert not stored(media, SHA_D)
    assert stored(media, SHA_A)
    entries, _ = await AuditService(db).list(action="media.purge")
    assert [e.actor.split(":")[0] for e in entries] == ["cli"]


def test_retention_config() -> None:
    media = config_from_dict({}).media
    assert (media.history_days, media.orphan_hours) == (30, 24.0)
    assert config_from_dict({"media": {"history_days": "0"}}).media.history_days == 0
    for bad in ({"history_days": -1}, {"orphan_hours": 0.5}):
        with pytest.raises(ConfigError, match="history_days"):
            config_from_dict({"media": bad})
