"""``voicestatus dialplan``: print or write the Asterisk include file.

Writing goes through :func:`voicestatus.safe_files.atomic_replace` (a
temporary file in the target directory and a rename), so Asterisk reloading
at the same moment sees the old file or the new one, never half of one, and
a symlink planted at the target is refused rather than followed.
"""

from __future__ import annotations

from pathlib import Path

import click

from voicestatus.asterisk.dialplan import TARGETS, Target, render_dialplan
from voicestatus.config import CONFIG_HELP, load_config
from voicestatus.config import config_path as resolve_config_path
from voicestatus.errors import VoiceStatusError
from voicestatus.safe_files import atomic_replace


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
    help=CONFIG_HELP,
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
        named = resolve_config_path(config_path)
        source = str(named) if named.exists() else None
        text = render_dialplan(config, target, source=source)
        if output is None:
            click.echo(text, nl=False)
            return
        atomic_replace(output, text)
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"Wrote {output}. Reload the dialplan: asterisk -rx 'dialplan reload'", err=True)
