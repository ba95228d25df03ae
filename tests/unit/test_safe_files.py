"""Root writing and reading files in directories other accounts own (security issue items 7 and 13).

``freepbx dialplan`` runs as root in /etc/asterisk, which ``asterisk`` can
write to; ``import-legacy`` reads the ``asterisk`` account's sounds and
AstDB. These tests use real symlinks, FIFOs and owners (``nobody``), and
the real command line in a subprocess where the old behaviour blocked.
"""

from __future__ import annotations

import os
import pwd
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicestatus.audio.wav import encode_wav
from voicestatus.cli import main
from voicestatus.safe_files import UnsafeFile, atomic_replace, read_regular
from voicestatus_dev.analysis import tone

NOBODY = pwd.getpwnam("nobody")
CLI_TIMEOUT = 60


def _vs(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in its own process: a read that blocks fails the test by timing out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICESTATUS_")}
    return subprocess.run(
        [sys.executable, "-m", "voicestatus", *args],
        capture_output=True, text=True, timeout=CLI_TIMEOUT, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
    )  # fmt: skip


# -- item 7: freepbx dialplan -------------------------------------------------


def test_freepbx_dialplan_refuses_a_symlink_and_leaves_its_target_alone(tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    secret.chmod(0o600)
    link = tmp_path / "extensions_custom.conf"
    link.symlink_to(secret)

    result = _vs("freepbx", "dialplan", "--file", str(link))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "symbolic link" in result.stderr
    assert link.is_symlink(), "the symlink is not replaced by a copy of its target"
    assert secret.read_text() == "root:$6$secret-hash:19000:0:99999:7:::\n"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extensions_custom.conf", "shadow"]


def test_freepbx_dialplan_keeps_owner_group_and_mode(tmp_path: Path) -> None:
    conf = tmp_path / "extensions_custom.conf"
    conf.write_text("[from-internal-custom]\nexten => 1234,1,Playback(demo-congrats)\n")
    os.chown(conf, NOBODY.pw_uid, NOBODY.pw_gid)
    conf.chmod(0o640)

    result = CliRunner().invoke(main, ["freepbx", "dialplan", "--file", str(conf)], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    st = conf.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY.pw_uid, NOBODY.pw_gid, 0o640)
    text = conf.read_text()
    assert text.startswith("[from-internal-custom]\nexten => 1234")
    assert "include => voicestatus-menu" in text


def test_freepbx_dialplan_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "extensions_custom.conf"
    os.mkfifo(fifo)
    result = _vs("freepbx", "dialplan", "--file", str(fifo))
    assert result.returncode == 1
    assert "FIFO" in result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_new_file_is_0644_and_unit_and_dialplan_outputs_refuse_symlinks(tmp_path: Path) -> None:
    fresh = tmp_path / "new.conf"
    atomic_replace(fresh, "x\n")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    target = tmp_path / "elsewhere"
    target.write_text("keep\n")
    for args in (["dialplan", "-o"], ["install", "--unit-file"]):
        link = tmp_path / f"link-{args[0]}"
        link.symlink_to(target)
        result = CliRunner().invoke(main, [*args, str(link)])
        assert result.exit_code == 1, result.output
        assert "symbolic link" in result.output
        assert target.read_text() == "keep\n"


# -- item 13: import-legacy ---------------------------------------------------


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "vs.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "vs.db"}"\n[media]\ndir = "{tmp_path / "media"}"\n'
    )
    return path


def _astdb(path: Path, flags: dict[str, str]) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE astdb (key VARCHAR(256), value VARCHAR(256), PRIMARY KEY(key))")
        conn.executemany("INSERT INTO astdb VALUES (?, ?)", [(f"/op_alert/{k}", v) for k, v in flags.items()])
    conn.close()
    return path


def test_import_legacy_reports_symlinks_and_fifos_and_never_blocks(tmp_path: Path) -> None:
    sounds = tmp_path / "custom"
    sounds.mkdir()
    wav = encode_wav(tone(600, 1.0).samples, 8000)
    outside = tmp_path / "private.wav"
    outside.write_bytes(wav)
    outside.chmod(0o600)
    (sounds / "rec_101.wav").symlink_to(outside)
    os.mkfifo(sounds / "rec_102.wav")
    (sounds / "rec_103.wav").write_bytes(wav)
    astdb = _astdb(tmp_path / "astdb.sqlite3", {"101": "true", "102": "true", "103": "true"})

    result = _vs(
        "import-legacy",
        "--config",
        str(_config(tmp_path)),
        "--sounds-dir",
        str(sounds),
        "--astdb",
        str(astdb),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Found 3 op_alert flag(s) and 3 rec_<ext>.wav file(s)." in result.stdout
    assert "101: skipped (rec_101.wav is a symbolic link, not followed" in result.stdout
    assert "102: skipped (rec_102.wav is a FIFO" in result.stdout
    assert "103: imported (1.0 s, on)" in result.stdout
    assert "1 message(s) imported, 2 skipped." in result.stdout


def test_import_legacy_refuses_a_fifo_as_astdb(tmp_path: Path) -> None:
    sounds = tmp_path / "custom"
    sounds.mkdir()
    fifo = tmp_path / "astdb.sqlite3"
    os.mkfifo(fifo)
    result = _vs(
        "import-legacy", "--config", str(_config(tmp_path)), "--sounds-dir", str(sounds), "--astdb", str(fifo)
    )
    assert result.returncode == 1
    assert "FIFO" in result.stderr


def test_read_regular_caps_the_size_on_the_descriptor(tmp_path: Path) -> None:
    big = tmp_path / "big.wav"
    with open(big, "wb") as handle:
        handle.truncate(1 << 30)  # sparse: the cap must refuse it without reading it
    with pytest.raises(UnsafeFile, match="larger than") as caught:
        read_regular(big, max_bytes=50 << 20)
    assert caught.value.reason == "larger than 50 MB"
