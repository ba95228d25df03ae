"""``voicestatus admin tokens`` / ``revoke-token`` against a running service.

The commands run as separate processes on the service's database, as an
administrator would run them, while the service answers API calls.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from support import free_port
from voicestatus.services.accounts import TOKEN_MEMORY_SECONDS
from web_support import Web, start_web, web_config

VOICESTATUS = Path(sys.executable).with_name("voicestatus")


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    async for running in start_web(web_config(tmp_path, free_port())):
        yield running


async def cli(web: Web, *args: str) -> tuple[int, str, str]:
    """Run ``voicestatus <args>`` on the service's database: exit code, stdout, stderr."""
    config = web.service.config.database.url
    config_file = Path(config.removeprefix("sqlite:///")).with_name("cli.toml")
    config_file.write_text(f'[database]\nurl = "{config}"\n')
    proc = await asyncio.create_subprocess_exec(
        str(VOICESTATUS), *args, "--config", str(config_file),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def listing(web: Web) -> list[dict[str, Any]]:
    code, output, errors = await cli(web, "admin", "tokens", "--json")
    assert code == 0, errors
    rows: list[dict[str, Any]] = json.loads(output)
    return rows


async def new_token(web: Web, name: str) -> str:
    code, output, errors = await cli(web, "admin", "token", "--username", "alice", "--name", name)
    assert code == 0, errors
    return output.splitlines()[-1]


async def status(web: Web, token: str) -> int:
    async with web.api(token) as client:
        return (await client.get("/api/v1/me")).status_code


async def test_list_and_revoke_a_token_while_the_service_runs(web: Web) -> None:
    ci, backup = await new_token(web, "ci"), await new_token(web, "backup")
    assert await status(web, ci) == 200
    assert await status(web, backup) == 200

    code, table, errors = await cli(web, "admin", "tokens", "--username", "alice")
    assert code == 0, errors
    rows = await listing(web)
    assert [(r["admin"], r["name"], r["revoked"]) for r in rows] == [
        ("alice", "api", False), ("alice", "ci", False), ("alice", "backup", False),
    ]  # fmt: skip
    for secret in (ci, backup, web.token):
        for shown in (table, json.dumps(rows)):
            assert secret not in shown
            assert hashlib.sha256(secret.encode()).hexdigest() not in shown
    assert "ci" in table
    assert "backup" in table
    ci_id = next(r["id"] for r in rows if r["name"] == "ci")

    code, output, errors = await cli(web, "admin", "revoke-token", str(ci_id))
    assert code == 0, errors
    assert f"API token {ci_id} (alice, ci) revoked" in output
    # The documented bound: the service trusts a verified token this long at most.
    await asyncio.sleep(TOKEN_MEMORY_SECONDS)
    async with web.api(ci) as client:
        refused = await client.get("/api/v1/operators")
    assert refused.status_code == 401
    assert refused.json()["error_id"] == "unauthorized"
    assert await status(web, backup) == 200

    after = {r["name"]: r for r in await listing(web)}
    assert after["ci"]["revoked"] is True
    assert after["ci"]["revoked_at"] is not None
    assert after["backup"]["revoked"] is False
    assert after["backup"]["last_used_at"] is not None
    entries, total = await web.service.audit.list(action="token.revoke")
    assert total == 1
    assert entries[0].actor == f"cli:{getpass.getuser()}"
    assert entries[0].after == {"id": ci_id, "username": "alice", "name": "ci", "revoked": True}

    code, output, errors = await cli(web, "admin", "revoke-token", str(ci_id))
    assert code == 0, errors
    assert "already revoked" in output
    assert "Traceback" not in errors
    assert (await web.service.audit.list(action="token.revoke"))[1] == 1


async def test_revoking_an_unknown_id_fails_and_changes_nothing(web: Web) -> None:
    before = await listing(web)
    unknown = max(r["id"] for r in before) + 100
    code, _, errors = await cli(web, "admin", "revoke-token", str(unknown))
    assert code != 0
    assert f"Error: no API token has id {unknown}" in errors
    assert "Traceback" not in errors
    assert await listing(web) == before
    assert (await web.service.audit.list(action="token.revoke"))[1] == 0
    assert await status(web, web.token) == 200
