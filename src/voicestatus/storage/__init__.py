"""Storage: SQLite or PostgreSQL behind one contract, with shipped migrations.

Public surface: :class:`Database` (engine + sessions), :func:`make_engine`,
:func:`migrate`, :func:`current_revision`, :func:`head_revision`. The models and
queries live in ``storage.models`` and ``storage.repository`` for the services.
"""

from __future__ import annotations

from voicestatus.storage.database import (
    Database,
    current_revision,
    driver_url,
    head_revision,
    make_engine,
    migrate,
)

__all__ = [
    "Database",
    "current_revision",
    "driver_url",
    "head_revision",
    "make_engine",
    "migrate",
]
