"""Alembic environment: runs on a connection handed in by ``storage.database``.

The service never shells out to the ``alembic`` command; it opens its own
connection and passes it in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from voicestatus.storage.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through voicestatus (voicestatus.storage.migrate)")
_run(connection)
