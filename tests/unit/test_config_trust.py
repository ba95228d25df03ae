"""Which configuration a privileged command reads (security issue items 10 and 15).

Root running ``voicestatus`` in a directory another account owns must not
load a ``voicestatus.toml`` planted there, and must refuse a configuration
file (or a directory above it) that another account could change. ``doctor``
reports the file's owner and mode with the command that fixes them. Real
files, real owners (``nobody``), the real command line.
"""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicestatus.cli import main
from voicestatus.config import DEFAULT_CONFIG_PATH, load_config
from voicestatus.errors import ConfigError

NOBODY = pwd.getpwnam("nobody")
PLANTED = '[phone]\nfeature_code = "*666"\n[freepbx]\nreload_command = "touch /tmp/pwned"\n'
GOOD = '[phone]\nfeature_code = "*677"\n'

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the checks apply to root")


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("VOICESTATUS_"):
            monkeypatch.delenv(name)


def test_the_current_directory_is_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    (tmp_path / "voicestatus.toml").write_text(PLANTED)
    os.chown(tmp_path, NOBODY.pw_uid, NOBODY.pw_gid)
    monkeypatch.chdir(tmp_path)

    assert Path("/etc/voicestatus/voicestatus.toml") == DEFAULT_CONFIG_PATH
    assert load_config().freepbx.reload_command == "fwconsole reload"
    result = CliRunner().invoke(main, ["dialplan", "--target", "freepbx"])
    assert result.exit_code == 0, result.output
    assert "*666" not in result.output
    assert "*600" in result.output

    named = tmp_path.parent / f"{tmp_path.name}-b.toml"
    named.write_text('[phone]\nfeature_code = "*602"\n')
    monkeypatch.setenv("VOICESTATUS_CONFIG", str(named))
    assert load_config().phone.feature_code == "*602", "then $VOICESTATUS_CONFIG"


def _refused(path: Path, *needles: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    for needle in needles:
        assert needle in caught.value.message
    result = CliRunner().invoke(main, ["dialplan", "--config", str(path)])
    assert result.exit_code == 1
    assert "another account could change" in result.output


def test_root_refuses_a_file_owned_by_another_account(tmp_path: Path) -> None:
    path = tmp_path / "vs.toml"
    path.write_text(PLANTED)
    path.chmod(0o640)
    os.chown(path, NOBODY.pw_uid, 0)
    _refused(path, "owned by nobody", f"chown root:voicestatus {path} && chmod 0640 {path}")


@pytest.mark.parametrize("mode", [0o664, 0o646, 0o666])
def test_root_refuses_a_group_or_world_writable_file(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "vs.toml"
    path.write_text(PLANTED)
    path.chmod(mode)
    _refused(path, "writable by", "chmod 0640")
    path.write_text(GOOD)
    path.chmod(0o640)
    assert load_config(path, environ={}).phone.feature_code == "*677", "fixed as the message says: read"


def test_root_refuses_a_file_in_another_accounts_directory(tmp_path: Path) -> None:
    directory = tmp_path / "etc"
    directory.mkdir()
    path = directory / "vs.toml"
    path.write_text(PLANTED)
    path.chmod(0o640)
    os.chown(directory, NOBODY.pw_uid, NOBODY.pw_gid)
    _refused(path, f"{directory} (a directory above", f"chown root {directory} && chmod go-w {directory}")


def test_root_refuses_through_a_symlink_to_an_untrusted_file(tmp_path: Path) -> None:
    target = tmp_path / "theirs.toml"
    target.write_text(PLANTED)
    os.chown(target, NOBODY.pw_uid, NOBODY.pw_gid)
    link = tmp_path / "vs.toml"
    link.symlink_to(target)
    _refused(link, "owned by nobody")


# -- doctor: the configuration file's owner and mode --------------------------


def _doctor(path: Path) -> dict[str, dict[str, str]]:
    result = CliRunner().invoke(main, ["doctor", "--json", "--config", str(path)])
    return {c["check"]: c for c in json.loads(result.output)["checks"]}


def _config_for_doctor(tmp_path: Path) -> Path:
    path = tmp_path / "vs.toml"
    path.write_text(
        '[ari]\nurl = "http://127.0.0.1:9"\npassword = "Ari-Secret-42"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "vs.db"}"\n[media]\ndir = "{tmp_path / "media"}"\n'
        f'[freepbx]\nconfig_file = "{tmp_path / "none.conf"}"\n'
    )
    return path


def test_doctor_reports_a_world_readable_config_with_the_fix(tmp_path: Path) -> None:
    path = _config_for_doctor(tmp_path)
    path.chmod(0o644)
    finding = _doctor(path)["config-file"]
    assert finding["status"] == "fail"
    assert "readable by every account" in finding["detail"]
    assert finding["fix"] == f"chown root:voicestatus {path} && chmod 0640 {path}"

    path.chmod(0o640)
    assert _doctor(path)["config-file"]["status"] == "ok"


def test_doctor_reports_an_untrusted_config_instead_of_reading_it(tmp_path: Path) -> None:
    path = _config_for_doctor(tmp_path)
    path.chmod(0o640)
    os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)
    checks = _doctor(path)
    assert checks["config"]["status"] == "fail"
    assert checks["config-file"]["status"] == "fail"
    assert "owned by nobody" in checks["config-file"]["detail"]
    assert checks["config"]["fix"] == f"chown root:voicestatus {path} && chmod 0640 {path}"
