"""Fixtures for the FreePBX tests: a real MariaDB and a fake ``fwconsole``."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from freepbx_support import FWCONSOLE, SEED, Fwconsole
from mariadb_server import MariaDB, start_mariadb
from voicestatus.cli import main


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDB]:
    base = Path(tempfile.mkdtemp(prefix="vs-mariadb-"))
    server = start_mariadb(base)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def freepbx_db(mariadb_server: MariaDB) -> MariaDB:
    mariadb_server.seed(SEED)
    return mariadb_server


@pytest.fixture
def fwconsole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fwconsole:
    """A fake ``fwconsole`` first on PATH that records its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = Fwconsole(tmp_path / "fwconsole.log", tmp_path / "fwconsole.status", tmp_path / "fwconsole.pid")
    fake.fail_with(0)
    script = bin_dir / "fwconsole"
    script.write_text(FWCONSOLE.format(log=fake.log, status=fake.status, pidfile=fake.pidfile))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    return fake


@pytest.fixture
def vs_config(tmp_path: Path, freepbx_db: MariaDB) -> Path:
    path = tmp_path / "voicestatus.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "vs.db"}"\n'
        f'[media]\ndir = "{tmp_path / "media"}"\n'
        # The seeded 205 and 300 count as operators here; test_freepbx_adoption.py checks the refusal.
        '[operators]\npattern = "_1XX,205,300"\n'
        f'[freepbx]\ndatabase_url = "{freepbx_db.url}"\nreload_command = "fwconsole reload"\n'
    )
    return path


@pytest.fixture
def vs() -> object:
    """Run ``voicestatus ARGS``; returns the click Result."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run
