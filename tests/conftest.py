"""Shared fixtures: the real Asterisk sandbox, the call driver, the service.

The sandbox is brought up once per test session (building its chroot on the
first run on a machine, then reusing the cache) and taken down at the end.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.database import InMemoryExampleDatabase

from support import free_port, running
from voicestatus.app import Service
from voicestatus.config import Config, config_from_dict
from voicestatus_dev.driver import CallDriver
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

SANDBOX_NAME = os.environ.get("VOICESTATUS_TEST_SANDBOX", "pytest")

# Hypothesis keeps failing examples in ./.hypothesis. A checkout the test user
# cannot write to (root's, with `make unit` run as another account) would make
# it warn, which the suite treats as an error; keep them in memory instead.
if not os.access(Path(".hypothesis") if Path(".hypothesis").exists() else Path.cwd(), os.W_OK):
    settings.register_profile("read-only-checkout", database=InMemoryExampleDatabase())
    settings.load_profile("read-only-checkout")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """The running sandbox Asterisk for this test session."""
    from voicestatus.asterisk.dialplan import render_dialplan

    box = Sandbox(SANDBOX_NAME)
    box.up(render_dialplan(Config(), "asterisk"), progress=print)
    try:
        yield box
    finally:
        box.down()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL server for this test session (see tests/postgres_server.py)."""
    from postgres_server import running_server

    with running_server() as server:
        yield server.url


@pytest.fixture(scope="session")
def sandbox_info(sandbox: Sandbox) -> SandboxInfo:
    return sandbox.status()


@pytest.fixture(scope="session")
async def driver(sandbox_info: SandboxInfo) -> AsyncIterator[CallDriver]:
    """Places calls into the sandbox and plays the caller's part."""
    drv = CallDriver(
        sandbox_info.ari_url,
        sandbox_info.ari_username,
        sandbox_info.ari_password,
        sounds_dir=sandbox_info.sounds_dir,
    )
    await drv.start()
    try:
        yield drv
    finally:
        await drv.close()


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def service_config(sandbox_info: SandboxInfo, tmp_path: Path) -> Config:
    """A service configuration pointing at the sandbox, with its own database and media."""
    port = free_port()
    return config_from_dict(
        {
            "ari": {
                "url": sandbox_info.ari_url,
                "username": sandbox_info.ari_username,
                "password": sandbox_info.ari_password,
                "reconnect_min_delay": 0.2,
                "reconnect_max_delay": 1.0,
            },
            "http": {"listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}"},
            "database": {"url": f"sqlite:///{tmp_path / 'voicestatus.db'}"},
            "media": {"dir": str(tmp_path / "media")},
        }
    )


@pytest.fixture
async def service(service_config: Config) -> AsyncIterator[Service]:
    """The service, running in this test's event loop against the sandbox."""
    async with running(service_config) as svc:
        yield svc
