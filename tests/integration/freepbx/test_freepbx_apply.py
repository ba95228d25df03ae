"""``voicestatus freepbx apply|revert`` against a real MariaDB with FreePBX's users table."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

from freepbx_support import SEED, Fwconsole
from mariadb_server import MariaDB
from voicestatus.cli import main

DEST = "voicestatus-unavailable,s,1"
ALL = (DEST, DEST, DEST)
Run = Callable[..., Result]


def test_apply_sets_destinations_saves_originals_and_reloads(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    result = vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "101-103")
    assert result.exit_code == 0, result.output
    now = freepbx_db.destinations()
    assert now["101"] == ALL
    assert now["102"] == ALL
    assert now["103"] == ALL
    assert now["205"] == SEED["205"]
    assert now["300"] == SEED["300"]
    assert fwconsole.calls() == ["reload"]
    assert "app-blackhole,hangup,1" in result.output
    assert DEST in result.output
    assert "Reload: fwconsole reload: done" in result.output
    assert "9 destination(s) on 3 extension(s)" in result.output


def test_dry_run_changes_nothing(vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole) -> None:
    result = vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "101,205", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output
    assert "from-did-direct,300,1" in result.output
    assert freepbx_db.destinations() == SEED
    assert fwconsole.calls() == []


def test_apply_twice_then_revert_restores_exactly(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    args = ("freepbx", "apply", "--config", str(vs_config), "--extensions", "101-103,205")
    assert vs(*args, "--reasons", "noanswer").exit_code == 0
    again = vs(*args)
    assert again.exit_code == 0, again.output
    assert "4 destination(s) already point at" in again.output
    third = vs(*args)
    assert "Nothing to do" in third.output
    assert freepbx_db.destinations()["205"] == ALL

    reverted = vs("freepbx", "revert", "--config", str(vs_config))
    assert reverted.exit_code == 0, reverted.output
    assert freepbx_db.destinations() == SEED
    assert fwconsole.calls() == ["reload", "reload", "reload"]
    assert "Nothing to do" in vs("freepbx", "revert", "--config", str(vs_config)).output


def test_revert_some_extensions_and_leaves_changed_ones(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    assert vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "101,103").exit_code == 0
    with freepbx_db.root() as conn, conn.cursor() as cur:
        cur.execute("UPDATE users SET busy_dest = 'ext-local,vmb110,1' WHERE extension = '103'")
    result = vs("freepbx", "revert", "--config", str(vs_config), "--extensions", "103")
    assert result.exit_code == 0, result.output
    assert "skipped 103 busy: changed in FreePBX since apply" in result.output
    now = freepbx_db.destinations()
    assert now["103"] == (SEED["103"][0], "ext-local,vmb110,1", SEED["103"][2])
    assert now["101"] == ALL, "revert of 103 leaves 101 applied"


def test_unknown_extension_changes_nothing(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    result = vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "101,104,999")
    assert result.exit_code == 1
    assert "2 extension(s) do not exist in FreePBX: 104, 999" in result.output
    assert freepbx_db.destinations() == SEED
    assert fwconsole.calls() == []


def test_pattern_selects_existing_extensions(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    result = vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "_1XX", "--reasons", "busy")
    assert result.exit_code == 0, result.output
    now = freepbx_db.destinations()
    assert [now[e][1] for e in ("101", "102", "103")] == [DEST] * 3
    assert now["205"] == SEED["205"]


def test_failed_reload_says_what_state_the_pbx_is_in(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    fwconsole.fail_with(3)
    result = vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "102")
    assert result.exit_code == 1
    assert "now has the applied destinations for 1 extension(s)" in result.output
    assert "exit status 3" in result.output
    assert "run 'fwconsole reload'" in result.output
    assert freepbx_db.destinations()["102"] == ALL
    fwconsole.fail_with(0)
    assert vs("freepbx", "revert", "--config", str(vs_config)).exit_code == 0
    assert freepbx_db.destinations() == SEED


def test_locked_table_is_a_clear_error(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    holder = freepbx_db.connect()
    released = threading.Event()
    try:
        with holder.cursor() as cur:
            cur.execute("LOCK TABLES users WRITE")
        result = vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "101")
    finally:
        with holder.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        holder.close()
        released.set()
    assert result.exit_code == 1
    assert "users table is locked by another session" in result.output
    assert "nothing was changed" in result.output
    assert freepbx_db.destinations() == SEED
    assert fwconsole.calls() == []


def test_database_down_is_a_clear_error(vs: Run, tmp_path: Path, fwconsole: Fwconsole) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # A URL with a password comes on standard input: in argv it would show in ps.
    result = CliRunner().invoke(
        main,
        ["freepbx", "apply", "--extensions", "101", "--database-url-stdin",
         "--config", str(_minimal_config(tmp_path))],
        input=f"mysql://u:p@127.0.0.1:{port}/asterisk\n",
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"cannot connect to the FreePBX database 'asterisk' as 'u' at 127.0.0.1:{port}" in result.output
    assert "is MariaDB running?" in result.output


def test_credentials_from_freepbx_conf(
    vs: Run, tmp_path: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    from mariadb_server import PASSWORD, USER

    php_password = PASSWORD.replace("\\", "\\\\").replace("'", "\\'")
    conf = tmp_path / "freepbx.conf"
    conf.write_text(
        "<?php\n"
        f"$amp_conf['AMPDBUSER'] = '{USER}';\n"
        f"$amp_conf['AMPDBPASS'] = '{php_password}';\n"
        "$amp_conf['AMPDBHOST'] = '127.0.0.1';\n"
        f"$amp_conf['AMPDBPORT'] = '{freepbx_db.port}';\n"
        "$amp_conf['AMPDBNAME'] = 'asterisk';\n"
        "require_once('/var/www/html/admin/bootstrap.php');\n?>\n"
    )
    result = vs(
        "freepbx", "apply", "--extensions", "300", "--freepbx-conf", str(conf),
        "--config", str(_minimal_config(tmp_path)),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert freepbx_db.destinations()["300"] == ALL


def _minimal_config(tmp_path: Path) -> Path:
    path = tmp_path / "minimal.toml"
    database = f'[database]\nurl = "sqlite:///{tmp_path / "vs.db"}"\n'
    path.write_text(database + '[operators]\npattern = "_1XX,300"\n')
    return path


def test_json_outcome_for_scripts(
    vs: Run, vs_config: Path, freepbx_db: MariaDB, fwconsole: Fwconsole
) -> None:
    args = ("freepbx", "apply", "--config", str(vs_config), "--extensions", "101", "--json")
    dry = json.loads(vs(*args, "--dry-run").output)
    assert dry["ok"] is True
    assert dry["dry_run"] is True
    assert {(c["extension"], c["reason"]) for c in dry["changes"]} == {
        ("101", "noanswer"), ("101", "busy"), ("101", "chanunavail"),
    }  # fmt: skip
    assert freepbx_db.destinations() == SEED

    applied = vs(*args)
    assert applied.exit_code == 0
    report = json.loads(applied.output)
    assert report["ok"] is True
    assert report["dry_run"] is False
    assert {c["after"] for c in report["changes"]} == {DEST}
    assert {c["before"] for c in report["changes"]} == set(SEED["101"])
    reload = report["reload"]
    assert (reload["command"], reload["ok"], reload["exit_status"]) == ("fwconsole reload", True, 0)
    assert "Reloading FreePBX" in reload["output"]
    assert freepbx_db.destinations()["101"] == ALL

    fwconsole.fail_with(3)
    reverted = vs("freepbx", "revert", "--config", str(vs_config), "--json")
    assert reverted.exit_code == 1
    failed = json.loads(reverted.output)
    assert failed["ok"] is False
    assert failed["error"]["id"] == "freepbx-reload-failed"
    assert failed["reload"]["exit_status"] == 3
    assert len(failed["changes"]) == 3
    assert freepbx_db.destinations() == SEED, "the database change is made; only the reload failed"

    unknown = vs("freepbx", "apply", "--config", str(vs_config), "--extensions", "999", "--json")
    assert unknown.exit_code == 1
    assert json.loads(unknown.output)["ok"] is False
