"""The unit tier's storage and service tests, again on PostgreSQL.

Each ``test_pg_*.py`` here imports one unit test module's tests and fixtures
unchanged; this conftest gives them a ``db`` on the session's private
PostgreSQL server (or ``VOICESTATUS_TEST_DATABASE_URL``), so every query is
proven on both backends while the unit tier itself needs no server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postgres_server import database_for_tests
from service_fixtures import clock, messages, ops
from voicestatus.storage import Database

__all__ = ["clock", "db", "messages", "ops"]


@pytest.fixture(params=["postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database on PostgreSQL (see ``postgres_server.database_for_tests``)."""
    async with database_for_tests(request, tmp_path) as database:
        yield database


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the imported tests that use no database: the unit tier runs those already."""
    here = Path(__file__).parent
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        if item.path.is_relative_to(here) and "db" not in getattr(item, "fixturenames", ()):
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
