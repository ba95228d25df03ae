"""Who may use the web UI and the API: admins, their API tokens, and web sessions.

Secrets never reach the database in the clear: admin passwords are argon2
hashes, API tokens and session ids are stored as their sha256 (they are long
random strings, so a fast hash is enough and lookups stay indexed). A session
belongs either to an admin or to an operator who logged in with extension and
PIN (the PIN itself is checked by :class:`OperatorService`). Every account
change is audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voicestatus.errors import InvalidInput, VoiceStatusError
from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.clock import Clock, utcnow
from voicestatus.storage.database import Database
from voicestatus.storage.models import Admin, ApiToken, Operator, WebSession

logger = logging.getLogger(__name__)

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
TOKEN_PREFIX = "vst_"  # noqa: S105 (a marker, not a secret)


class AccountExists(VoiceStatusError):
    """An admin with this username already exists."""

    error_id = "admin-exists"
    status_code = 409


class UnknownAdmin(VoiceStatusError):
    """No admin has this username."""

    error_id = "unknown-admin"
    status_code = 404


@dataclass(frozen=True)
class AdminView:
    id: int
    username: str
    role: str


@dataclass(frozen=True)
class SessionView:
    """A live web session: an admin's or an operator's, with its CSRF token."""

    admin: AdminView | None
    operator: str | None
    csrf_token: str
    expires_at: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def validate_username(username: str) -> str:
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise InvalidInput("a username is 1 to 64 letters, digits, '.', '_', '@' or '-'")
    return username


def validate_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return password


# How long a verified API token is trusted without asking the database again.
TOKEN_MEMORY_SECONDS = 5.0
TOKEN_MEMORY_SIZE = 1024


class AccountService:
    """Admins, API tokens and web sessions."""

    def __init__(
        self,
        db: Database,
        *,
        audit: AuditService,
        clock: Clock = utcnow,
        session_ttl: timedelta = timedelta(hours=12),
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._db = db
        self._verified: dict[str, tuple[float, tuple[AdminView, int]]] = {}
        self._audit = audit
        self._clock = clock
        self.session_ttl = session_ttl
        self._hasher = hasher if hasher is not None else PasswordHasher()
        self._dummy_hash: str | None = None

    async def create_admin(self, username: str, password: str, *, actor: Actor) -> AdminView:
        validate_username(username)
        new_hash = await asyncio.to_thread(self._hasher.hash, validate_password(password))
        async with self._db.transaction() as session:
            if await session.scalar(select(Admin.id).where(Admin.username == username)) is not None:
                raise AccountExists(f"an admin named {username!r} already exists")
            row = Admin(username=username, password_hash=new_hash, role="admin", created_at=self._clock())
            session.add(row)
            await session.flush()
            await self._audit.record(
                session, actor=actor, action="admin.create", extension=None, before=None,
                after={"username": username},
            )  # fmt: skip
            return AdminView(row.id, row.username, row.role)

    async def set_password(self, username: str, password: str, *, actor: Actor) -> None:
        new_hash = await asyncio.to_thread(self._hasher.hash, validate_password(password))
        async with self._db.transaction() as session:
            row = await self._admin_row(session, username)
            row.password_hash = new_hash
            await session.execute(delete(WebSession).where(WebSession.admin_id == row.id))
            await self._audit.record(
                session, actor=actor, action="admin.password", extension=None, before=None,
                after={"username": username},
            )  # fmt: skip

    async def _admin_row(self, session: AsyncSession, username: str) -> Admin:
        row = await session.scalar(select(Admin).where(Admin.username == validate_username(username)))
        if row is None:
            raise UnknownAdmin(f"no admin named {username!r}")
        return row

    async def authenticate(self, username: str, password: str) -> AdminView | None:
        """The admin if the password matches; takes about as long either way."""
        row: Admin | None = None
        if _USERNAME.fullmatch(username) and 0 < len(password) <= MAX_PASSWORD_LENGTH:
            async with self._db.session() as session:
                row = await session.scalar(select(Admin).where(Admin.username == username))
        if row is None:
            if self._dummy_hash is None:
                self._dummy_hash = await asyncio.to_thread(self._hasher.hash, "not-a-password")
            with contextlib.suppress(VerificationError, InvalidHashError):
                await asyncio.to_thread(self._hasher.verify, self._dummy_hash, password[:64] or "x")
            return None
        try:
            await asyncio.to_thread(self._hasher.verify, row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        async with self._db.transaction() as session:
            stored = await session.get(Admin, row.id)
            if stored is not None:
                stored.last_login_at = self._clock()
                if self._hasher.check_needs_rehash(stored.password_hash):
                    stored.password_hash = await asyncio.to_thread(self._hasher.hash, password)
        return AdminView(row.id, row.username, row.role)

    async def create_token(self, username: str, *, name: str = "api", actor: Actor) -> str:
        """A new bearer token for ``username``; shown once, only its hash is kept."""
        if not 0 < len(name) <= 64 or not name.isprintable():
            raise InvalidInput("a token name is 1 to 64 printable characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self._db.transaction() as session:
            admin = await self._admin_row(session, username)
            session.add(
                ApiToken(admin_id=admin.id, name=name, token_hash=_digest(token), created_at=self._clock())
            )
            await self._audit.record(
                session, actor=actor, action="token.create", extension=None, before=None,
                after={"username": username, "name": name},
            )  # fmt: skip
        return token

    async def verify_token(self, token: str) -> tuple[AdminView, int] | None:
        """The token's admin and the token id, or None for unknown or revoked tokens.

        Every API request checks its token. A valid token is remembered for
        ``TOKEN_MEMORY_SECONDS`` (so a revocation takes effect within that
        time); unknown tokens are never remembered. ``last_used_at`` is
        written at most once a minute per token, not on every request (a write
        per request serialises SQLite under load).
        """
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = _digest(token)
        # Taken before the database read, so memory of a token read just before
        # a revocation lapses at most TOKEN_MEMORY_SECONDS after the revocation.
        now_mono = time.monotonic()
        known = self._verified.get(digest)
        if known is not None and known[0] > now_mono:
            return known[1]
        async with self._db.session() as session:
            found = (
                await session.execute(
                    select(ApiToken.id, ApiToken.last_used_at, Admin.id, Admin.username, Admin.role)
                    .join(Admin, Admin.id == ApiToken.admin_id)
                    .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
                )
            ).first()
        if found is None:
            self._verified.pop(digest, None)
            return None
        token_id, last_used, admin_id, username, role = found
        now = self._clock()
        if last_used is None or now - last_used > timedelta(minutes=1):
            async with self._db.transaction() as session:
                await session.execute(
                    update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
                )
        result = (AdminView(admin_id, username, role), token_id)
        if len(self._verified) >= TOKEN_MEMORY_SIZE:
            self._verified.clear()
        self._verified[digest] = (now_mono + TOKEN_MEMORY_SECONDS, result)
        return result

    async def start_session(
        self, *, admin: AdminView | None = None, operator: str | None = None
    ) -> tuple[str, SessionView]:
        """A new session id (for the cookie) and the session it opens."""
        if (admin is None) == (operator is None):
            raise ValueError("a session belongs to exactly one admin or operator")
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        view = SessionView(admin, operator, secrets.token_urlsafe(32), now + self.session_ttl)
        async with self._db.transaction() as session:
            await session.execute(delete(WebSession).where(WebSession.expires_at < now))
            session.add(
                WebSession(
                    id_hash=_digest(session_id),
                    admin_id=admin.id if admin else None,
                    operator_extension=operator,
                    csrf_token=view.csrf_token,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=view.expires_at,
                )
            )
        return session_id, view

    async def get_session(self, session_id: str) -> SessionView | None:
        """The live session, or None: unknown, expired, or its operator is disabled or has no PIN."""
        if not 0 < len(session_id) <= 100:
            return None
        async with self._db.session() as session:
            row = await session.get(WebSession, _digest(session_id))
            if row is None or row.expires_at <= self._clock():
                return None
            admin = await session.get(Admin, row.admin_id) if row.admin_id is not None else None
            if row.admin_id is not None and admin is None:
                return None
            if row.operator_extension is not None:
                # Checked on every request: a disabled operator (or one whose PIN
                # was removed) is logged out at once, whatever ended the session.
                operator = await session.get(Operator, row.operator_extension)
                if operator is None or not operator.enabled or operator.pin_hash is None:
                    return None
            view = AdminView(admin.id, admin.username, admin.role) if admin else None
            return SessionView(view, row.operator_extension, row.csrf_token, row.expires_at)

    async def end_session(self, session_id: str) -> None:
        async with self._db.transaction() as session:
            await session.execute(delete(WebSession).where(WebSession.id_hash == _digest(session_id)))
