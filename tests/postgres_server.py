"""A throw-away PostgreSQL cluster for the test session, and fresh databases in it.

Tests must not depend on a PostgreSQL service someone configured on the
machine, so they bring their own: ``initdb`` into a temporary directory, a
``postgres`` listening on 127.0.0.1 at a free port (with fsync off: the data
dies with the session), a password role like a deployment would have, and a
fast shutdown at the end. PostgreSQL refuses to run as root, so when the tests
run as root the server runs as the ``postgres`` account the Debian package
creates. The server is tied to the test process (parent-death signal), so a
killed test run does not leave it behind.

Each test gets its own database, copied from a migrated template: cheaper than
dropping and re-migrating, and no test can see another's rows.
"""

from __future__ import annotations

import itertools
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import BinaryIO

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from support import free_port
from voicestatus.storage import Database, driver_url
from voicestatus_dev.testing import TEST_DATABASE_URL_ENV, fresh_database

START_TIMEOUT = 30.0
STALE_AFTER = 3600.0
_DIR_PREFIX = "voicestatus-pg-"
ROLE = "voicestatus"
DATABASE = "voicestatus"
_TEMPLATE = "voicestatus_template"
_counter = itertools.count(1)
_admin_engines: dict[str, AsyncEngine] = {}


def pg_bindir() -> Path:
    """The newest installed PostgreSQL server's bin directory (Debian layout)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if not candidates:
        raise RuntimeError("PostgreSQL server not installed: apt-get install postgresql")
    return candidates[-1].parent


def _is_stale(path: Path) -> bool:
    """A cluster directory whose server is gone (a killed run; its server died with it)."""
    pidfile = path / "data" / "postmaster.pid"
    try:
        if not pidfile.exists():
            return time.time() - path.stat().st_mtime > STALE_AFTER
        os.kill(int(pidfile.read_text().split()[0]), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError, IndexError):
        return False
    return False


class PostgresServer:
    """One private cluster: ``start()``, then ``url`` (a password role) or ``psql()``, ``stop()``."""

    def __init__(self) -> None:
        self.bindir = pg_bindir()
        self.port = free_port()
        self.password = secrets.token_hex(16)
        for old in Path(tempfile.gettempdir()).glob(_DIR_PREFIX + "*"):
            if _is_stale(old):
                shutil.rmtree(old, ignore_errors=True)
        self.dir = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX))
        self.data = self.dir / "data"
        self._user = "postgres" if os.geteuid() == 0 else None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    @property
    def url(self) -> str:
        """The application's URL, as a user would write it in ``[database] url``."""
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def _as_owner(self, *argv: str, pdeathsig: bool = False) -> list[str]:
        prefix = ["setpriv"]
        if self._user is not None:
            prefix += ["--reuid", self._user, "--regid", self._user, "--init-groups"]
        if pdeathsig:
            prefix += ["--pdeathsig", "SIGQUIT"]
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        return [*prefix, *cmd] if len(prefix) > 1 else cmd

    def start(self) -> None:
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        # Local socket: trusted, but it lives in a directory only the server's
        # account can enter. TCP: password (scram), as in a deployment.
        subprocess.run(
            self._as_owner(
                "initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                "--auth-local=trust", "--auth-host=scram-sha-256",
            ),
            check=True,
            capture_output=True,
            cwd=self.dir,
        )  # fmt: skip
        self._log = (self.dir / "server.log").open("wb")
        self._process = subprocess.Popen(
            self._as_owner(
                "postgres", "-D", str(self.data), "-k", str(self.dir), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
                "-c", "synchronous_commit=off", "-c", "max_connections=200",
                pdeathsig=True,
            ),
            stdout=subprocess.DEVNULL,
            cwd=self.dir,
            stderr=self._log,
        )  # fmt: skip
        self._wait_ready()
        # pg_signal_backend: DROP DATABASE ... WITH (FORCE) must also end an
        # autovacuum worker that happens to be in the test database.
        self.psql(
            f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{self.password}'",
            f"GRANT pg_signal_backend TO {ROLE}",
            f"CREATE DATABASE {DATABASE} OWNER {ROLE}",
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        ready = self._as_owner("pg_isready", "-q", "-h", str(self.dir), "-p", str(self.port))
        while subprocess.run(ready, check=False, cwd=self.dir).returncode != 0:
            assert self._process is not None
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = (self.dir / "server.log").read_text(errors="replace")
                raise RuntimeError(f"PostgreSQL did not start:\n{log}")
            time.sleep(0.05)

    def psql(self, *statements: str) -> None:
        """Run statements as the superuser over the private socket."""
        for sql in statements:
            subprocess.run(
                self._as_owner(
                    "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.dir),
                    "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-c", sql,
                ),
                check=True,
                capture_output=True,
                cwd=self.dir,
            )  # fmt: skip

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            subprocess.run(
                self._as_owner("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-s", "-t", "30"),
                check=False,
                cwd=self.dir,
            )
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log is not None:
            self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def running_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@asynccontextmanager
async def autocommit_connection(url: str) -> AsyncIterator[AsyncConnection]:
    """A plain connection outside any transaction (``CREATE DATABASE`` needs one)."""
    # Engines are kept: they hold no connection (NullPool), only their dialect set-up.
    engine = _admin_engines.get(url)
    if engine is None:
        engine = create_async_engine(driver_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        _admin_engines[url] = engine
    async with engine.connect() as conn:
        yield conn


async def _template(conn: AsyncConnection, url: str) -> None:
    exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": _TEMPLATE})
    if exists:
        return
    await conn.exec_driver_sql(f"CREATE DATABASE {_TEMPLATE}")
    db = Database(_with_database(url, _TEMPLATE))
    try:
        await db.migrate()
    finally:
        await db.close()


async def create_test_database(url: str, *, migrated: bool = True) -> str:
    """A new database next to ``url`` (migrated and empty, or with no schema); returns its URL."""
    name = f"test_{os.getpid()}_{next(_counter)}"
    async with autocommit_connection(url) as conn:
        if migrated:
            await _template(conn, url)
            await conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}")
        else:
            await conn.exec_driver_sql(f"CREATE DATABASE {name}")
    return _with_database(url, name)


async def drop_test_database(url: str) -> None:
    """Drop a database made by :func:`create_test_database`, even if a test left connections."""
    name = url.rsplit("/", 1)[1]
    assert name.startswith("test_")
    async with autocommit_connection(_with_database(url, DATABASE)) as conn:
        await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@asynccontextmanager
async def database_for_tests(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh, migrated database on the backend in ``request.param`` ("sqlite" or "postgresql").

    PostgreSQL is the session's private server, or the server named by
    ``VOICESTATUS_TEST_DATABASE_URL`` (emptied first) when that is set.
    """
    backend: str = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/voicestatus.db"
    else:
        url = os.environ.get(TEST_DATABASE_URL_ENV, "")
    private = not url
    if private:
        url = await create_test_database(request.getfixturevalue("postgres_url"))
        db = Database(url)
    else:
        db = await fresh_database(url)
    try:
        yield db
    finally:
        await db.close()
        if private:
            await drop_test_database(url)
