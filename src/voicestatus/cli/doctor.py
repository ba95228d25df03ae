"""``voicestatus doctor``: run every check, print each with its fix, exit non-zero on failure."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from voicestatus.config import load_config
from voicestatus.doctor.checks import Doctor, Finding
from voicestatus.errors import ConfigError

MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Configuration file (default: $VOICESTATUS_CONFIG or ./voicestatus.toml).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def doctor(config_path: Path | None, as_json: bool) -> None:
    """Check everything needed before going live; each problem comes with its fix."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        findings = [Finding("config", "fail", exc.message, "fix the file (see voicestatus.example.toml)")]
    else:
        findings = asyncio.run(Doctor(config).run())
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
