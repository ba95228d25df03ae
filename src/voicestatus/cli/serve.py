"""``voicestatus serve``: the long-running service."""

from __future__ import annotations

from pathlib import Path

import click

from voicestatus.config import CONFIG_HELP, load_config
from voicestatus.errors import VoiceStatusError


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help=CONFIG_HELP,
)
def serve(config_path: Path | None) -> None:
    """Run the Stasis app, the web UI/API and the media server."""
    from voicestatus.app import run

    try:
        config = load_config(config_path)
        run(config)
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot start: {exc}") from exc
