"""``voicestatus doctor``: run every check, print each with its fix, exit non-zero on failure.

Findings go to terminals and tickets, so every detail is masked: configured
passwords and the password of any URL are shown as ``***``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from voicestatus.cli.secret_input import mask, url_password
from voicestatus.config import CONFIG_HELP, Config, load_config
from voicestatus.config import config_path as config_path_of
from voicestatus.doctor.checks import Doctor
from voicestatus.doctor.config_file_check import check_config_file
from voicestatus.doctor.findings import Finding
from voicestatus.errors import ConfigError

MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def _secrets(config: Config | None) -> list[str]:
    if config is None:
        return []
    found = [config.ari.password, config.asterisk.ami_password]
    found += [url_password(url) or "" for url in (config.database.url, config.freepbx.database_url or "")]
    return [s for s in found if s]


def _masked(finding: Finding, secrets: list[str]) -> Finding:
    return Finding(finding.check, finding.status, mask(finding.detail, secrets), mask(finding.fix, secrets))


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=CONFIG_HELP)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def doctor(config_path: Path | None, as_json: bool) -> None:
    """Check everything needed before going live; each problem comes with its fix."""
    file_finding = check_config_file(config_path_of(config_path))
    config: Config | None = None
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        fix = file_finding.fix if file_finding.status == "fail" else "fix the file (see the example toml)"
        findings = [Finding("config", "fail", exc.message, fix), file_finding]
    else:
        checks = asyncio.run(Doctor(config).run())
        findings = [checks[0], file_finding, *checks[1:]]
    findings = [_masked(f, _secrets(config)) for f in findings]
    failed = any(f.status == "fail" for f in findings)
    if as_json:
        click.echo(json.dumps({"ok": not failed, "checks": [f.to_json() for f in findings]}, indent=2))
    else:
        for f in findings:
            click.echo(f"[{MARKS[f.status]}] {f.check}: {f.detail}")
            if f.fix and f.status != "ok":
                click.echo(f"       fix: {f.fix}")
        click.echo("All checks passed." if not failed else "Some checks failed.")
    if failed:
        raise SystemExit(1)
