"""PIN lock-outs: wrong-PIN counts per extension and per calling source.

Written by hand like 0001; ``tests/unit/test_storage_migrations.py`` checks
it matches ``models.py``. A new table only, so upgrading a running install
changes nothing that exists.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pin_guards",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("lockouts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('extension', 'source')", name=op.f("ck_pin_guards_scope_known")),
        sa.PrimaryKeyConstraint("scope", "subject", name="pk_pin_guards"),
    )
    op.create_index("ix_pin_guards_locked_until", "pin_guards", ["locked_until"])


def downgrade() -> None:
    op.drop_table("pin_guards")
