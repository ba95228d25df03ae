"""The AMI client against the real sandbox Asterisk: AstDB, CLI output, refused logins."""

from __future__ import annotations

import uuid

import pytest

from voicestatus.asterisk.ami import AmiAuthError, AmiClient
from voicestatus.asterisk.dialplan_text import MENU_CONTEXT
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

pytestmark = pytest.mark.asterisk


def ami(info: SandboxInfo, password: str | None = None) -> AmiClient:
    url = f"tcp://{info.ami_host}:{info.ami_port}"
    return AmiClient(url, info.ami_username, info.ami_password if password is None else password)


async def test_astdb_round_trip_seen_by_asterisk(sandbox: Sandbox, sandbox_info: SandboxInfo) -> None:
    family = f"vs-it-{uuid.uuid4().hex[:8]}"
    async with ami(sandbox_info) as conn:
        assert await conn.db_get(family, "101") is None
        await conn.db_put(family, "101", "voicestatus/101")
        assert await conn.db_get(family, "101") == "voicestatus/101"
        assert f"/{family}/101" in sandbox.cli(f"database show {family}")
        shown = await conn.command("database", "show", family)
        assert any(f"/{family}/101" in line and "voicestatus/101" in line for line in shown)
        assert await conn.db_del(family, "101") is True
        assert await conn.db_del(family, "101") is False
    assert f"/{family}/101" not in sandbox.cli(f"database show {family}")


async def test_dialplan_output_and_wrong_secret(sandbox_info: SandboxInfo) -> None:
    async with ami(sandbox_info) as conn:
        assert any(
            f"'{MENU_CONTEXT}'" in line for line in await conn.command("dialplan", "show", MENU_CONTEXT)
        )
        missing = " ".join(await conn.command("dialplan", "show", "vs-no-such-context"))
        assert "There is no existence" in missing
    with pytest.raises(AmiAuthError):
        async with ami(sandbox_info, password="not-the-secret"):
            pass
