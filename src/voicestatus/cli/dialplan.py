"""``voicestatus dialplan``: print or write the Asterisk include file.

Writing goes through a temporary file in the target directory and a rename,
so Asterisk reloading at the same moment sees the old file or the new one,
never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from voicestatus.asterisk.dialplan import TARGETS, Target, render_dialplan
from voicestatus.config import DEFAULT_CONFIG_PATH, load_config
from voicestatus.errors import VoiceStatusError


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename (mode 0644)."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@click.command("dialplan")
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default="asterisk",
    show_default=True,
    help="asterisk: plain Asterisk with a Dial wrapper; freepbx: for extensions_custom.conf.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Configuration file (default: $VOICESTATUS_CONFIG or ./{DEFAULT_CONFIG_PATH}).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the include file here instead of printing it.",
)
def dialplan(target: Target, config_path: Path | None, output: Path | None) -> None:
    """Print the dialplan include file for Asterisk or FreePBX."""
    try:
        config = load_config(config_path)
        named = config_path or os.environ.get("VOICESTATUS_CONFIG") or DEFAULT_CONFIG_PATH
        source = str(named) if Path(named).exists() else None
        text = render_dialplan(config, target, source=source)
        if output is None:
            click.echo(text, nl=False)
            return
        write_atomically(output, text)
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"Wrote {output}. Reload the dialplan: asterisk -rx 'dialplan reload'", err=True)
