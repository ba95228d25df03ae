"""The service tests' fixtures, shared by both tiers that run those tests.

The storage and service tests run on SQLite in the unit tier
(``tests/unit/conftest.py``: no server, no root) and, unchanged, on the
session's private PostgreSQL in the integration tier
(``tests/integration/postgres/``). Each tier's conftest supplies ``db``; what
is built on it is defined once, here, so both tiers test the same thing.
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from voicestatus.services.messages import MessageService
from voicestatus.services.operators import OperatorService
from voicestatus.storage import Database
from voicestatus_dev.testing import ManualClock


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
