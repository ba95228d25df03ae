"""One hardened systemd unit (security issue item 15).

``deploy/voicestatus.service`` and the unit ``voicestatus install`` writes
come from the same text in the package; the unit takes away what the
service does not need, and systemd itself (``systemd-analyze verify``)
accepts what ``install --unit-file`` writes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from voicestatus.cli import main
from voicestatus.cli.install import deploy_unit_text

REPO = Path(__file__).resolve().parents[2]
HARDENING = (
    "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
    "ProtectProc=invisible", "SystemCallFilter=@system-service", "SystemCallFilter=~@privileged",
    "MemoryMax=", "TasksMax=", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "CapabilityBoundingSet=\n",
    "ReadWritePaths=/var/lib/voicestatus", "UMask=0027",
)  # fmt: skip


def test_the_shipped_unit_is_generated_from_the_package() -> None:
    shipped = (REPO / "deploy/voicestatus.service").read_text(encoding="utf-8")
    assert shipped == deploy_unit_text(), "regenerate it: .venv/bin/python scripts/generate-unit.py"
    for line in HARDENING:
        assert line in shipped


def _unit(tmp_path: Path, *extra: str) -> str:
    config = tmp_path / "vs.toml"
    config.write_text("".join(extra))
    config.chmod(0o640)
    unit = tmp_path / "voicestatus.service"
    result = CliRunner().invoke(main, ["install", "--unit-file", str(unit), "--config", str(config)])
    assert result.exit_code == 0, result.output
    return unit.read_text(encoding="utf-8")


def test_install_writes_the_same_hardened_unit(tmp_path: Path) -> None:
    text = _unit(tmp_path)
    for line in HARDENING:
        assert line in text
    shipped = deploy_unit_text().split("[Unit]", 1)[1]
    exe = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    config = next(line for line in text.splitlines() if line.startswith("Environment=VOICESTATUS_CONFIG="))
    assert text.split("[Unit]", 1)[1] == (
        shipped.replace("ExecStart=/opt/voicestatus/bin/voicestatus serve", exe).replace(
            "Environment=VOICESTATUS_CONFIG=/etc/voicestatus/voicestatus.toml", config
        )
    ), "only the executable and the configuration path differ"


def test_sounds_and_media_dirs_are_writable_and_systemd_accepts_the_unit(tmp_path: Path) -> None:
    text = _unit(
        tmp_path,
        '[asterisk]\nsounds_dir = "/var/lib/asterisk/sounds"\n[media]\ndir = "/srv/vs-media"\n'
        '[database]\nurl = "sqlite:////var/lib/voicestatus/vs.db"\n',
    )
    rw = "ReadWritePaths=/var/lib/voicestatus -/var/lib/asterisk/sounds/voicestatus -/srv/vs-media\n"
    assert rw in text
    assert str(Path(sys.executable).parent / "voicestatus") in text
    unit = tmp_path / "voicestatus.service"
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", "no unknown keys or bad values"
