"""The ``voicestatus`` command line.

Each command group lives in its own module and is registered here, so this
module stays a table of contents.
"""

from __future__ import annotations

import importlib
import logging

import click

from voicestatus import __version__

# (module, attribute) per top-level command, imported lazily so that
# `voicestatus --help` stays fast and one broken extra does not break all.
_COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("voicestatus.cli.serve", "serve"),
    "demo": ("voicestatus.cli.demo", "demo"),
    "sandbox": ("voicestatus.cli.sandbox", "sandbox"),
    "dialplan": ("voicestatus.cli.dialplan", "dialplan"),
    "admin": ("voicestatus.cli.admin", "admin"),
    "operators": ("voicestatus.cli.operators", "operators"),
    "freepbx": ("voicestatus.cli.freepbx", "freepbx"),
    "import-legacy": ("voicestatus.cli.import_legacy", "import_legacy"),
    "doctor": ("voicestatus.cli.doctor", "doctor"),
    "install": ("voicestatus.cli.install", "install"),
    "bench": ("voicestatus.cli.bench", "bench"),
    "purge": ("voicestatus.cli.purge", "purge"),
}


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in _COMMANDS if self.get_command(ctx, name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        try:
            module = importlib.import_module(target[0])
        except ModuleNotFoundError as exc:
            if exc.name != target[0]:
                raise
            return None
        command: click.Command = getattr(module, target[1])
        return command


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="voicestatus")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Personal voice status messages for Asterisk and FreePBX operators."""
    level = logging.WARNING - 10 * verbose if verbose else logging.INFO
    logging.basicConfig(level=max(level, logging.DEBUG), format=LOG_FORMAT)
    if verbose < 2:
        # One line per ARI request, or per migration plugin, is noise at the default level.
        for noisy in ("httpx", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
