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
    "dialplan": ("voicestatus.cli.dialplan", "dialplan"),
    "admin": ("voicestatus.cli.admin", "admin"),
    "operators": ("voicestatus.cli.operators", "operators"),
    "freepbx": ("voicestatus.cli.freepbx", "freepbx"),
    "import-legacy": ("voicestatus.cli.import_legacy", "import_legacy"),
    "doctor": ("voicestatus.cli.doctor", "doctor"),
    "install": ("voicestatus.cli.install", "install"),
    "purge": ("voicestatus.cli.purge", "purge"),
}

# The development tooling (`demo`, `sandbox`, `bench`) is a separate package
# that only a dev install has: the wheel production hosts install leaves it
# out. Looked up by name, never imported as a dependency, so the product does
# not depend on it; when present it adds its commands to the table above.
_DEV_PACKAGE = "voicestatus_dev.cli"


def _dev_commands() -> tuple[dict[str, tuple[str, str]], frozenset[str]]:
    try:
        dev = importlib.import_module(_DEV_PACKAGE)
    except ModuleNotFoundError as exc:
        if exc.name not in ("voicestatus_dev", _DEV_PACKAGE):
            raise
        return {}, frozenset()
    return dict(dev.COMMANDS), frozenset(dev.SERVICE_COMMANDS)


_DEV_COMMANDS, _DEV_SERVICE_COMMANDS = _dev_commands()
_COMMANDS.update(_DEV_COMMANDS)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Long-running commands whose log is their output (journald keeps it).
_SERVICE_COMMANDS = frozenset({"serve"}) | _DEV_SERVICE_COMMANDS


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


def log_level(command: str | None, verbose: int) -> int:
    """The root log level: a command prints what it did, and its log only warnings and errors.

    INFO lines ("database schema at ...", one per audit entry) on every run
    bury a command's own output; ``-v`` shows them, ``-vv`` adds debug.
    ``serve`` and ``demo`` are services: their INFO log is what an admin reads.
    """
    base = logging.INFO if command in _SERVICE_COMMANDS else logging.WARNING
    return max(logging.DEBUG, min(base, logging.WARNING - 10 * verbose))


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="voicestatus")
@click.option(
    "-v", "--verbose", count=True, help="Show INFO log lines (-vv: debug too); before the command name."
)
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """Personal voice status messages for Asterisk and FreePBX operators."""
    level = log_level(ctx.invoked_subcommand, verbose)
    logging.basicConfig(level=level, format=LOG_FORMAT)
    if verbose < 2:
        # One line per ARI request, or per migration plugin, is noise at the default level.
        for noisy in ("httpx", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
