"""Listing and revoking API tokens, so a leaked token can be shut off.

Tokens are created and checked by :class:`~voicestatus.services.accounts.AccountService`;
this is the administrator's side. A listing never carries the secret nor its
hash: the id is what an administrator revokes by. Revoking sets
``revoked_at`` rather than deleting the row, so the listing still shows what
the token was and when it was last used; the API refuses a revoked token once
the service's memory of it lapses (``TOKEN_MEMORY_SECONDS``), in whatever
process the revocation was made.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Row, Select, select, update

from voicestatus.errors import VoiceStatusError
from voicestatus.services.accounts import UnknownAdmin, validate_username
from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.clock import Clock, utcnow
from voicestatus.storage.database import Database
from voicestatus.storage.models import Admin, ApiToken


class UnknownToken(VoiceStatusError):
    """No API token has this id."""

    error_id = "unknown-token"
    status_code = 404


@dataclass(frozen=True)
class TokenView:
    """What an administrator may see of a token: everything but the secret."""

    id: int
    admin: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def _view(row: Row[int, str, str, datetime, datetime | None, datetime | None]) -> TokenView:
    token_id, admin, name, created_at, last_used_at, revoked_at = row
    return TokenView(token_id, admin, name, created_at, last_used_at, revoked_at)


def _views() -> Select[int, str, str, datetime, datetime | None, datetime | None]:
    return select(
        ApiToken.id, Admin.username, ApiToken.name, ApiToken.created_at,
        ApiToken.last_used_at, ApiToken.revoked_at,
    ).join(Admin, Admin.id == ApiToken.admin_id)  # fmt: skip


class TokenAdmin:
    """An administrator's view of the API tokens: list them, revoke one."""

    def __init__(self, db: Database, *, audit: AuditService, clock: Clock = utcnow) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock

    async def list(self, username: str | None = None) -> list[TokenView]:
        """Every token (revoked ones too), oldest first; only ``username``'s if given."""
        query = _views().order_by(ApiToken.id)
        async with self._db.session() as session:
            if username is not None:
                found = await session.scalar(
                    select(Admin.id).where(Admin.username == validate_username(username))
                )
                if found is None:
                    raise UnknownAdmin(f"no admin named {username!r}")
                query = query.where(ApiToken.admin_id == found)
            return [_view(row) for row in (await session.execute(query)).all()]

    async def revoke(self, token_id: int, *, actor: Actor) -> tuple[TokenView, bool]:
        """Revoke the token; returns it and whether this call revoked it (False: it already was).

        The row is locked while it is read (SQLite transactions here take the
        write lock from the start), so of two concurrent revocations exactly
        one revokes and is audited.
        """
        query = _views().where(ApiToken.id == token_id).with_for_update(of=ApiToken)
        async with self._db.transaction() as session:
            row = (await session.execute(query)).first()
            if row is None:
                raise UnknownToken(f"no API token has id {token_id}")
            view = _view(row)
            if view.revoked:
                return view, False
            view = replace(view, revoked_at=self._clock())
            await session.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=view.revoked_at)
            )
            about = {"id": view.id, "username": view.admin, "name": view.name}
            await self._audit.record(
                session, actor=actor, action="token.revoke", extension=None,
                before={**about, "revoked": False}, after={**about, "revoked": True},
            )  # fmt: skip
            return view, True
