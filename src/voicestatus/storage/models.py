"""The database schema as SQLAlchemy models.

The first migration created the tables of the original data model (operators,
messages with history, audit, play statistics, admin accounts and tokens, web
sessions, FreePBX revert data, legacy imports); later migrations add what
security needed since (PIN lock-outs). The migrations are written by hand; a
unit test checks they and these models never drift apart.

Types are portable: no SQLite-only SQL, timestamps are aware UTC
(:class:`UTCDateTime`), free-form structured data is ``JSON``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from voicestatus.storage.types import UTCDateTime

EXTENSION_LENGTH = 20
SHA256_LENGTH = 64
PIN_GUARD_SUBJECT_LENGTH = 200
FREEPBX_REASONS = ("noanswer", "busy", "chanunavail")

# Named constraints let Alembic's SQLite batch mode alter tables later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Operator(Base):
    """An operator's settings; allowed extensions without a row use the defaults."""

    __tablename__ = "operators"
    __table_args__ = (CheckConstraint("active_status BETWEEN 1 AND 9", name="active_status_digit"),)

    extension: Mapped[str] = mapped_column(String(EXTENSION_LENGTH), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())
    active_status: Mapped[int | None] = mapped_column(SmallInteger)
    message_enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Message(Base):
    """One recorded message; exactly one per (extension, status) is current.

    Replaced and deleted messages stay as history (``is_current`` false,
    ``retired_at`` set) so they can be restored, until retention purges them.
    """

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("status BETWEEN 1 AND 9", name="status_digit"),
        Index(
            "uq_messages_current",
            "extension",
            "status",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
        Index("ix_messages_history", "extension", "status", "retired_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    extension: Mapped[str] = mapped_column(
        String(EXTENSION_LENGTH), ForeignKey("operators.extension", ondelete="CASCADE")
    )
    status: Mapped[int] = mapped_column(SmallInteger)
    sha256: Mapped[str] = mapped_column(String(SHA256_LENGTH), index=True)
    duration: Mapped[float] = mapped_column(Float)
    talk_duration: Mapped[float] = mapped_column(Float)
    loudness_lufs: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    is_current: Mapped[bool] = mapped_column(Boolean, server_default=false())
    retired_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class PlayStat(Base):
    __tablename__ = "play_stats"

    message_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_played_at: Mapped[datetime | None]


class AuditLog(Base):
    """Every change: who, when, what, before and after. No foreign keys, so it outlives rows."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(64))
    extension: Mapped[str | None] = mapped_column(String(EXTENSION_LENGTH), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Admin(Base):
    __tablename__ = "admins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), server_default=text("'admin'"))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token; only its sha256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    admin_id: Mapped[int] = mapped_column(Integer, ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(SHA256_LENGTH), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class WebSession(Base):
    """A UI login, by an admin or by an operator (extension + PIN)."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(SHA256_LENGTH), primary_key=True)
    admin_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("admins.id", ondelete="CASCADE"), index=True
    )
    operator_extension: Mapped[str | None] = mapped_column(
        String(EXTENSION_LENGTH), ForeignKey("operators.extension", ondelete="CASCADE")
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class FreepbxSavedDestination(Base):
    """The FreePBX destination we replaced, kept so ``freepbx revert`` can put it back."""

    __tablename__ = "freepbx_saved_destinations"
    __table_args__ = (
        UniqueConstraint("extension", "reason"),
        CheckConstraint("reason IN ('noanswer', 'busy', 'chanunavail')", name="reason_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    extension: Mapped[str] = mapped_column(String(EXTENSION_LENGTH))
    reason: Mapped[str] = mapped_column(String(16))
    previous_value: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime]


class PinCounter(Base):
    """Wrong-PIN counts and lock-outs, per extension and per calling source.

    Kept in the database (not in memory) so the count holds across calls,
    parallel calls, restarts and several service instances; a row exists only
    while there is something to count, so a successful login deletes it.
    ``scope`` is ``extension`` or ``source`` (``phone:<endpoint>``, ``web:<address>``).
    """

    __tablename__ = "pin_guards"
    __table_args__ = (CheckConstraint("scope IN ('extension', 'source')", name="scope_known"),)

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(String(PIN_GUARD_SUBJECT_LENGTH), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    lockouts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class LegacyImport(Base):
    """One file imported from a legacy installation, so re-imports are no-ops."""

    __tablename__ = "legacy_imports"
    __table_args__ = (UniqueConstraint("extension", "source_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    extension: Mapped[str] = mapped_column(String(EXTENSION_LENGTH))
    source_sha256: Mapped[str] = mapped_column(String(SHA256_LENGTH))
    imported_at: Mapped[datetime]
