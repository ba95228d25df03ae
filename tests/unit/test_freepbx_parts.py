"""FreePBX pieces that need no server: credentials, extension lists, the marked block, install."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from voicestatus.cli import main
from voicestatus.errors import ConfigError, InvalidInput
from voicestatus.freepbx import custom_conf
from voicestatus.freepbx.credentials import from_url, parse_freepbx_conf
from voicestatus.freepbx.selection import parse_selection

FREEPBX_CONF = r"""<?php
$amp_conf['AMPDBUSER'] = 'freepbxuser';
$amp_conf['AMPDBPASS'] = 'it\'s a \\ secret';
$amp_conf["AMPDBHOST"] = "db.example";
$amp_conf['AMPDBNAME'] = 'asterisk';
// $amp_conf['AMPDBUSER'] = 'commented-out-in-php-is-still-matched-last-wins';
require_once('/var/www/html/admin/bootstrap.php');
"""


def test_freepbx_conf_is_parsed_not_executed() -> None:
    conf = parse_freepbx_conf(FREEPBX_CONF)
    assert conf["AMPDBPASS"] == "it's a \\ secret"
    assert conf["AMPDBHOST"] == "db.example"


def test_database_url() -> None:
    params = from_url("mysql://u%40x:p%3Ass@10.0.0.5:3307/pbx")
    assert (params.user, params.password, params.host, params.port, params.database) == (
        "u@x", "p:ss", "10.0.0.5", 3307, "pbx",
    )  # fmt: skip
    assert "p:ss" not in params.describe()
    with pytest.raises(ConfigError):
        from_url("postgresql://x@y/z")


def test_extension_lists() -> None:
    sel = parse_selection("101-103, 205,_3XX")
    assert sel.literals == ("205",), "only numbers named on their own must exist"
    assert sel.ranged == ("101", "102", "103")
    assert sel.candidates(["205", "300", "301", "4000"]) == ["205", "101", "102", "103", "300", "301"]
    assert parse_selection("098-100").ranged == ("098", "099", "100")
    assert parse_selection("101-103,102").literals == ("102",)
    assert parse_selection("101-103,102").ranged == ("101", "103")
    for bad in ("10a", "130-101", "1;DROP", "", "1-99999999"):
        with pytest.raises(InvalidInput):
            parse_selection(bad)


def test_marked_block_is_replaced_in_place() -> None:
    admin = "[from-internal-custom]\nexten => 1234,1,Playback(demo-congrats)\n"
    first = custom_conf.merge(admin, "[voicestatus-menu]\nexten => 1,1,NoOp(v1)\n")
    assert first.startswith(admin)
    second = custom_conf.merge(first + "; admin's own tail\n", "[voicestatus-menu]\nexten => 1,1,NoOp(v2)\n")
    assert "NoOp(v1)" not in second
    assert second.count(custom_conf.END) == 1
    assert second.startswith(admin)
    assert second.endswith("; admin's own tail\n")
    with pytest.raises(custom_conf.MarkerError):
        custom_conf.merge(first + custom_conf.END + "\n", "x")


def test_freepbx_dialplan_writes_the_block(tmp_path: object) -> None:
    from pathlib import Path

    target = Path(str(tmp_path)) / "extensions_custom.conf"
    target.write_text("[from-internal-custom]\n")
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(main, ["freepbx", "dialplan", "--file", str(target)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    text = target.read_text()
    assert text.startswith("[from-internal-custom]\n")
    assert text.count("\n[voicestatus-unavailable]\n") == 1
    assert "include => voicestatus-menu" in text
    assert "up to date" in result.output


def test_install_print() -> None:
    result = CliRunner().invoke(main, ["install", "--print"], catch_exceptions=False)
    assert result.exit_code == 0
    needles = ("User=voicestatus", "Restart=on-failure", "NoNewPrivileges=yes", "[voicestatus]\ntype = user")
    for needle in (*needles, "bindport = 8088", "include => voicestatus-menu"):
        assert needle in result.output
