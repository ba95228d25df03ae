"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no timezone-aware timestamp, so a naive ``datetime`` would come back
from one backend and an aware one from the other. ``UTCDateTime`` stores UTC
everywhere and always hands back aware UTC values, so service code compares
times without caring which database it runs on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime; naive values are refused instead of guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) value")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # Stored as fixed-width text: naive UTC keeps lexical order == time order.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
