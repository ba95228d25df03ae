"""Fixtures for the service tests: a fresh database per backend, a manual clock, services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from postgres_server import BACKENDS, database_for_tests
from voicestatus.services.messages import MessageService
from voicestatus.services.operators import OperatorService
from voicestatus.storage import Database
from voicestatus.storage.testing import ManualClock


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database: SQLite, then the suite's PostgreSQL server."""
    async with database_for_tests(request, tmp_path) as database:
        yield database


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def ops(db: Database, clock: ManualClock) -> OperatorService:
    """Operators are extensions starting with 1; PIN hashing made cheap for tests."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return OperatorService(db, is_allowed=lambda e: e.startswith("1"), clock=clock, pin_hasher=cheap)


@pytest.fixture
def messages(db: Database, ops: OperatorService, clock: ManualClock) -> MessageService:
    return MessageService(db, ops, clock=clock)
