"""API tokens from the administrator's side: listing without issued, and revoking."""

from __future__ import annotations

import hashlib
from dataclasses import astuple
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from voicestatus.services.accounts import AccountService, UnknownAdmin
from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.tokens import TokenAdmin, UnknownToken
from voicestatus.storage import Database
from voicestatus_dev.testing import ManualClock

CLI = Actor("cli", "root")


@pytest.fixture
def audit(db: Database, clock: ManualClock) -> AuditService:
    return AuditService(db, clock=clock)


def accounts_for(db: Database, audit: AuditService, clock: ManualClock) -> AccountService:
    """An account service with its own token memory, as a separate process would have."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return AccountService(db, audit=audit, clock=clock, hasher=cheap)


@pytest.fixture
async def issued(db: Database, audit: AuditService, clock: ManualClock) -> dict[str, str]:
    """alice's tokens ``ci`` and ``backup`` and bob's ``api``, by name."""
    accounts = accounts_for(db, audit, clock)
    for user in ("alice", "bob"):
        await accounts.create_admin(user, "correct horse", actor=CLI)
    made = {}
    for user, name in (("alice", "ci"), ("alice", "backup"), ("bob", "api")):
        clock.advance(timedelta(minutes=1))
        made[name] = await accounts.create_token(user, name=name, actor=CLI)
    return made


async def test_list_shows_every_token_but_never_its_secret(
    db: Database, audit: AuditService, clock: ManualClock, issued: dict[str, str]
) -> None:
    admin = TokenAdmin(db, audit=audit, clock=clock)
    views = await admin.list()
    assert [(v.admin, v.name, v.revoked) for v in views] == [
        ("alice", "ci", False), ("alice", "backup", False), ("bob", "api", False),
    ]  # fmt: skip
    assert views[0].created_at < views[1].created_at < views[2].created_at
    assert all(v.last_used_at is None for v in views)
    shown = repr(views) + repr([astuple(v) for v in views])
    for secret in issued.values():
        assert secret not in shown
        assert hashlib.sha256(secret.encode()).hexdigest() not in shown
    assert [v.name for v in await admin.list("alice")] == ["ci", "backup"]
    with pytest.raises(UnknownAdmin):
        await admin.list("carol")


async def test_revoked_token_is_refused_the_other_still_works(
    db: Database, audit: AuditService, clock: ManualClock, issued: dict[str, str]
) -> None:
    api = accounts_for(db, audit, clock)
    assert await api.verify_token(issued["ci"]) is not None
    admin = TokenAdmin(db, audit=audit, clock=clock)
    ci = next(v for v in await admin.list() if v.name == "ci")
    clock.advance(timedelta(minutes=5))

    view, revoked = await admin.revoke(ci.id, actor=CLI)

    assert revoked
    assert view.revoked_at == clock.now
    fresh = accounts_for(db, audit, clock)  # no memory of the token, like the API once it lapses
    assert await fresh.verify_token(issued["ci"]) is None
    still = await fresh.verify_token(issued["backup"])
    assert still is not None
    assert still[0].username == "alice"
    listed = {v.name: v for v in await admin.list()}
    assert listed["ci"].revoked
    assert listed["ci"].last_used_at is not None
    assert not listed["backup"].revoked
    entries, total = await audit.list(action="token.revoke")
    assert total == 1
    assert entries[0].actor == "cli:root"
    assert entries[0].after == {"id": ci.id, "username": "alice", "name": "ci", "revoked": True}


async def test_unknown_id_changes_nothing(
    db: Database, audit: AuditService, clock: ManualClock, issued: dict[str, str]
) -> None:
    admin = TokenAdmin(db, audit=audit, clock=clock)
    before = await admin.list()
    with pytest.raises(UnknownToken) as refused:
        await admin.revoke(max(v.id for v in before) + 1, actor=CLI)
    assert "no API token has id" in refused.value.message
    assert await admin.list() == before
    assert (await audit.list(action="token.revoke"))[1] == 0
    assert await accounts_for(db, audit, clock).verify_token(issued["ci"]) is not None


async def test_revoking_twice_says_so_and_audits_once(
    db: Database, audit: AuditService, clock: ManualClock, issued: dict[str, str]
) -> None:
    admin = TokenAdmin(db, audit=audit, clock=clock)
    api_token = next(v for v in await admin.list() if v.name == "api")
    first, revoked = await admin.revoke(api_token.id, actor=CLI)
    assert revoked
    clock.advance(timedelta(hours=1))
    again, revoked_again = await admin.revoke(api_token.id, actor=CLI)
    assert not revoked_again
    assert again.revoked_at == first.revoked_at
    assert (await audit.list(action="token.revoke"))[1] == 1
    assert await accounts_for(db, audit, clock).verify_token(issued["api"]) is None
