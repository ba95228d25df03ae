"""What an administrator adopting voicestatus on FreePBX trips over (issue 19).

Against the real MariaDB the suite starts (FreePBX's ``users`` and ``admin``
tables), the fake ``fwconsole`` and the real file system; each test asserts
what the admin sees: exit status, output, and the rows left behind.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from freepbx_support import SEED, Fwconsole
from mariadb_server import MariaDB
from voicestatus.audio.wav import encode_wav
from voicestatus.cli import main
from voicestatus.freepbx import reload as reload_module
from voicestatus_dev.analysis import tone

DEST = "voicestatus-unavailable,s,1"
ALL = (DEST, DEST, DEST)
Run = Callable[..., Result]


def _reload_rows(tmp_path: Path) -> list[bool]:
    """The reload outcomes recorded in our database, oldest first."""
    with sqlite3.connect(tmp_path / "vs.db") as conn:
        query = "SELECT after FROM audit_log WHERE action = 'freepbx.reload' ORDER BY id"
        rows = conn.execute(query).fetchall()
    conn.close()
    return [bool(json.loads(r[0])["ok"]) for r in rows]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- item 2 and 3: a failed reload is remembered, retried, and FreePBX knows it needs one -----------


def test_running_apply_again_retries_a_failed_reload(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole, tmp_path: Path
) -> None:
    args = ("freepbx", "apply", "--config", str(vs_config), "--extensions", "102")
    fwconsole.fail_with(3)
    failed = vs(*args)
    assert failed.exit_code == 1
    assert "run this command again (it retries the reload)" in failed.output
    assert freepbx_db.destinations()["102"] == ALL
    assert freepbx_db.need_reload() == "true", "FreePBX shows 'Apply Config' while the reload is owed"
    assert _reload_rows(tmp_path) == [False]

    fwconsole.fail_with(0)
    retried = vs(*args)
    assert retried.exit_code == 0, retried.output
    assert "The last FreePBX reload failed and FreePBX still needs one: reloading it again." in retried.output
    assert "Reload: fwconsole reload: done" in retried.output
    assert "Nothing to do" not in retried.output
    assert fwconsole.calls() == ["reload", "reload"]
    assert freepbx_db.need_reload() == "false", "a successful reload lowers the flag, as fwconsole does"
    assert _reload_rows(tmp_path) == [False, True]

    done = vs(*args)
    assert done.exit_code == 0
    assert "Nothing to do" in done.output
    assert fwconsole.calls() == ["reload", "reload"], "nothing owed: no reload"


def test_no_retry_when_freepbx_was_reloaded_by_hand(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    args = ("freepbx", "apply", "--config", str(vs_config), "--extensions", "102")
    fwconsole.fail_with(3)
    assert vs(*args).exit_code == 1
    # The admin fixed it and pressed Apply Config: FreePBX lowered its flag.
    with freepbx_db.root() as conn, conn.cursor() as cur:
        cur.execute("UPDATE admin SET value = 'false' WHERE variable = 'need_reload'")
    fwconsole.fail_with(0)
    again = vs(*args)
    assert again.exit_code == 0
    assert "Nothing to do" in again.output
    assert fwconsole.calls() == ["reload"]


def test_dry_run_says_a_reload_is_owed_and_runs_none(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    fwconsole.fail_with(3)
    assert vs("freepbx", "revert", "--config", str(vs_config)).exit_code == 0, "nothing to revert yet"
    assert vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "101").exit_code == 1
    fwconsole.fail_with(0)
    dry = vs("freepbx", "revert", "--config", str(vs_config), "--extensions", "300", "--dry-run")
    assert dry.exit_code == 0
    assert "run this without --dry-run to reload it again" in dry.output
    assert fwconsole.calls() == ["reload"]
    assert freepbx_db.need_reload() == "true"


def test_apply_and_revert_raise_the_apply_config_flag(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "101", "--dry-run")
    assert freepbx_db.need_reload() == "false", "a dry run changes nothing in FreePBX"
    fwconsole.fail_with(1)
    assert vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "101").exit_code == 1
    assert freepbx_db.need_reload() == "true"
    with freepbx_db.root() as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM admin WHERE variable = 'need_reload'")
    reverted = vs("freepbx", "revert", "--config", str(vs_config))
    assert reverted.exit_code == 1
    assert "now has the reverted destinations for 1 extension(s)" in reverted.output
    assert freepbx_db.need_reload() == "true", "set even where the row was missing (INSERT ... ON DUPLICATE)"
    assert freepbx_db.destinations() == SEED


# -- item 4: ranges apply to the extensions that exist in them --------------------------------------


def test_range_applies_to_existing_extensions_and_lists_the_unused(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    result = vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "101-130,205")
    assert result.exit_code == 0, result.output
    assert "Not extensions in FreePBX, left out: 104-130" in result.output
    assert "12 destination(s) on 4 extension(s)" in result.output
    now = freepbx_db.destinations()
    assert [now[e] for e in ("101", "102", "103", "205")] == [ALL] * 4
    assert now["300"] == SEED["300"]


def test_a_named_extension_must_exist_even_next_to_a_range(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    result = vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "101-130,150")
    assert result.exit_code == 1
    assert "1 extension(s) do not exist in FreePBX: 150. Nothing was changed." in result.output
    assert freepbx_db.destinations() == SEED
    assert fwconsole.calls() == []


@pytest.mark.parametrize("selection", ["150-199", "_4XX"])
def test_a_selection_matching_nothing_fails(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole, selection: str
) -> None:
    result = vs("freepbx", "apply", "--config", str(vs_config), "--extensions", selection)
    assert result.exit_code == 1
    assert "none of the numbers given is an extension in FreePBX" in result.output
    assert "Nothing to do" not in result.output
    assert freepbx_db.destinations() == SEED
    assert fwconsole.calls() == []


# -- item 5: only operators, unless --force ---------------------------------------------------------


def test_non_operator_is_refused_without_force(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    narrow = vs_config.read_text().replace('pattern = "_1XX,205,300"', 'pattern = "_1XX"')
    vs_config.write_text(narrow)
    args = ("freepbx", "apply", "--config", str(vs_config), "--extensions", "101,205,300")
    refused = vs(*args)
    assert refused.exit_code == 1
    assert "2 extension(s) are not operators under [operators] pattern '_1XX': 205,300" in refused.output
    assert "--force" in refused.output
    assert freepbx_db.destinations() == SEED
    assert fwconsole.calls() == []

    forced = vs(*args, "--force")
    assert forced.exit_code == 0, forced.output
    warning = "Warning: 205,300 not allowed by [operators] pattern '_1XX'; wired anyway (--force)."
    assert warning in forced.stderr
    assert freepbx_db.destinations()["205"] == ALL


# -- item 6: the block's comments describe the block ------------------------------------------------


def test_written_block_describes_itself(vs: Run, tmp_path: Path) -> None:
    conf = tmp_path / "extensions_custom.conf"
    conf.write_text("[from-internal-custom]\n")
    config = tmp_path / "vs.toml"
    config.write_text("")
    result = vs("freepbx", "dialplan", "--file", str(conf), "--config", str(config))
    assert result.exit_code == 0, result.output
    text = conf.read_text()
    comments = "\n".join(line for line in text.splitlines() if line.startswith(";"))
    assert "Paste this file" not in comments
    assert "add the line" not in comments
    assert "Generated by: voicestatus freepbx dialplan" in comments
    assert "adds include => voicestatus-menu to [from-internal-custom]" in comments
    block = text[text.index("; BEGIN voicestatus") :]
    assert "\n[from-internal-custom]\ninclude => voicestatus-menu\n; END voicestatus" in block


# -- item 7: commands print what they did, their log only warnings ----------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voicestatus", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_no_info_log_lines_unless_verbose(vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole) -> None:
    quiet = _cli("freepbx", "apply", "--config", str(vs_config), "--extensions", "101")
    assert quiet.returncode == 0, quiet.stderr
    assert "Applied: 3 destination(s) on 1 extension(s)." in quiet.stdout
    assert not re.search(r"\b(INFO|DEBUG)\b", quiet.stdout + quiet.stderr), quiet.stderr
    assert "database schema at" not in quiet.stderr

    verbose = _cli("-v", "freepbx", "apply", "--config", str(vs_config), "--extensions", "102")
    assert verbose.returncode == 0, verbose.stderr
    assert "INFO voicestatus.storage.database: database schema at" in verbose.stderr
    assert "audit freepbx.apply" in verbose.stderr


def test_warnings_still_show_without_verbose(
    vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    with freepbx_db.root() as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE admin")
    try:
        result = _cli("freepbx", "apply", "--config", str(vs_config), "--extensions", "101")
    finally:
        with freepbx_db.root() as conn, conn.cursor() as cur:
            from mariadb_server import ADMIN_DDL

            cur.execute(ADMIN_DDL)
    assert result.returncode == 0, result.stderr
    assert "WARNING" in result.stderr
    assert "no admin table" in result.stderr


# -- item 8: dry runs leave the disk alone ----------------------------------------------------------


def test_dry_runs_create_no_database_and_no_media(
    vs: Run, tmp_path: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    state = tmp_path / "state"
    config = tmp_path / "fresh.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{state / "vs.db"}"\n[media]\ndir = "{state / "media"}"\n'
        f'[freepbx]\ndatabase_url = "{freepbx_db.url}"\n'
    )
    apply = vs("freepbx", "apply", "--config", str(config), "--extensions", "101-103", "--dry-run")
    assert apply.exit_code == 0, apply.output
    assert "Dry run: 9 destination(s) on 3 extension(s) would be applied" in apply.output
    revert = vs("freepbx", "revert", "--config", str(config), "--dry-run")
    assert revert.exit_code == 0, revert.output

    astdb = tmp_path / "astdb.sqlite3"
    with sqlite3.connect(astdb) as conn:
        conn.execute("CREATE TABLE astdb (key VARCHAR(256), value VARCHAR(256), PRIMARY KEY(key))")
        conn.execute("INSERT INTO astdb VALUES ('/op_alert/101', 'true')")
    conn.close()
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    (sounds / "rec_101.wav").write_bytes(encode_wav(tone(600, 1.5).samples, 8000))
    imported = vs(
        "import-legacy", "--config", str(config), "--sounds-dir", str(sounds), "--astdb", str(astdb),
        "--dry-run",
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    assert "101: would import (1.5 s, on)" in imported.output
    assert not state.exists(), f"a dry run created {sorted(p.name for p in state.rglob('*'))}"
    assert freepbx_db.destinations() == SEED

    # With a database in place a dry run reads it (without changing it).
    assert vs("freepbx", "apply", "--config", str(config), "--extensions", "101").exit_code == 0
    before = (state / "vs.db").read_bytes()
    preview = vs("freepbx", "revert", "--config", str(config), "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "Dry run: 3 destination(s) on 1 extension(s) would be reverted" in preview.output
    assert (state / "vs.db").read_bytes() == before


# -- item 9: messages that say what to do -----------------------------------------------------------


def test_missing_freepbx_conf_says_it_does_not_exist(vs: Run, tmp_path: Path, fwconsole: Fwconsole) -> None:
    config = tmp_path / "vs.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "vs.db"}"\n')
    missing = tmp_path / "freepbx.conf"
    result = vs(
        "freepbx", "apply", "--extensions", "101", "--freepbx-conf", str(missing), "--config", str(config)
    )
    assert result.exit_code == 1
    assert f"{missing} does not exist" in result.output
    assert "--freepbx-conf PATH" in result.output
    assert "root or asterisk" not in result.output


def _doctor(config: Path) -> dict[str, dict[str, str]]:
    result = CliRunner().invoke(main, ["doctor", "--json", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 1
    return {c["check"]: c for c in json.loads(result.stdout)["checks"]}


def test_doctor_with_everything_down_gives_a_fix_for_every_failure(tmp_path: Path) -> None:
    config = tmp_path / "vs.toml"
    config.write_text(
        f'[ari]\nurl = "http://127.0.0.1:{_closed_port()}"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "vs.db"}"\n[media]\ndir = "{tmp_path / "media"}"\n'
        f'[freepbx]\ndatabase_url = "mysql://u@127.0.0.1:{_closed_port()}/asterisk"\n'
    )
    config.chmod(0o640)
    checks = _doctor(config)
    assert checks["freepbx"]["status"] == "fail"
    assert "is MariaDB running?" in checks["freepbx"]["detail"]
    assert "start MariaDB (systemctl start mariadb)" in checks["freepbx"]["fix"]
    unfixed = [name for name, c in checks.items() if c["status"] == "fail" and not c["fix"]]
    assert not unfixed, checks
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    assert "read/write = system,command" in readme
    assert "read = system,command and write = system,command" in checks["dialplan"]["fix"]


def test_doctor_lists_extensions_in_numeric_order(tmp_path: Path, mariadb_server: MariaDB) -> None:
    mariadb_server.seed(dict.fromkeys(("1000", "205", "99", "101"), ("", "", "")))
    config = tmp_path / "vs.toml"
    config.write_text(
        f'[ari]\nurl = "http://127.0.0.1:{_closed_port()}"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "vs.db"}"\n'
        '[operators]\npattern = "_XX,_XXX,_XXXX"\n'
        f'[freepbx]\ndatabase_url = "{mariadb_server.url}"\n'
    )
    checks = _doctor(config)
    assert checks["freepbx"]["status"] == "warn"
    detail = checks["freepbx"]["detail"]
    assert "without a message, not sent to voicestatus-unavailable,s,1: 99,101,205,1000" in detail


# -- item 10: a hung reload ------------------------------------------------------------------------


def test_hung_reload_shows_progress_and_stops_at_reload_timeout(
    vs: Run,
    vs_config: Path,
    freepbx_db: MariaDB,
    fwconsole: Fwconsole,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reload_module, "PROGRESS_EVERY", 0.5)
    vs_config.write_text(vs_config.read_text() + "reload_timeout = 2\n")
    fwconsole.hang()
    started = time.monotonic()
    result = vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "101")
    took = time.monotonic() - started
    assert result.exit_code == 1
    assert took < 30, f"stopped at the timeout, not after the hung command: {took:.1f} s"
    assert "Reloading FreePBX (fwconsole reload; stopped after 2 s)..." in result.stderr
    assert result.stderr.count("still reloading:") >= 2
    assert "'fwconsole reload' did not finish within 2 s and was stopped" in result.output
    assert "FreePBX may still run the old dialplan" in result.output
    assert "raise [freepbx] reload_timeout" in result.output
    assert freepbx_db.destinations()["101"] == ALL
    assert freepbx_db.need_reload() == "true"
    child = fwconsole.hung_child()
    assert child is not None
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "what the reload started is stopped with it"

    fwconsole.fail_with(0)
    retried = vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "101")
    assert retried.exit_code == 0, retried.output
    assert "reloading it again" in retried.output


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False
