"""``voicestatus freepbx apply|revert|dialplan``: wire FreePBX to voicestatus.

Thin over :mod:`voicestatus.freepbx`: parse options, show the before/after
table, report progress and the reload's outcome, turn errors into clear
messages and a non-zero exit status.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import click

from voicestatus.asterisk.dialplan import render_dialplan
from voicestatus.cli.freepbx_output import (
    count_extensions,
    echo_json,
    fail,
    print_table,
    progress,
    reload_progress,
    report,
    show_pending,
)
from voicestatus.cli.secret_input import read_stdin_value, url_password
from voicestatus.config import CONFIG_HELP, Config, load_config
from voicestatus.errors import VoiceStatusError
from voicestatus.freepbx import custom_conf
from voicestatus.freepbx.credentials import database_params
from voicestatus.freepbx.selection import Selection, compact, parse_selection
from voicestatus.freepbx.state_db import open_database
from voicestatus.freepbx.users import FREEPBX_REASONS, UsersTable, check_reasons
from voicestatus.freepbx.wiring import FreepbxWiring, Outcome, Progress, ReloadFailed
from voicestatus.services.audit import Actor
from voicestatus.services.extensions import ExtensionPattern

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=CONFIG_HELP,
)
reasons_option = click.option(
    "--reasons",
    default=",".join(FREEPBX_REASONS),
    show_default=True,
    help="Which FreePBX destinations: noanswer, busy, chanunavail (comma-separated).",
)
dry_run_option = click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the outcome as one JSON object (no table, no progress bar).",
)


@click.group()
def freepbx() -> None:
    """Point FreePBX extensions at voicestatus (and back)."""


def _actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return Actor("cli", user)


async def _run(
    config: Config, action: Callable[[FreepbxWiring], Awaitable[Outcome]], *, dry_run: bool, quiet: bool
) -> Outcome:
    table = UsersTable(database_params(config.freepbx))
    db = await open_database(config.database.url, dry_run=dry_run)
    try:
        wiring = FreepbxWiring(
            db,
            table,
            destination=config.freepbx.destination,
            reload_command=config.freepbx.reload_command,
            reload_timeout=config.freepbx.reload_timeout,
            reload_progress=None if quiet else reload_progress(config.freepbx),
        )
        return await action(wiring)
    finally:
        if db is not None:
            await db.close()


ChangeRun = Callable[[FreepbxWiring, bool, Progress | None], Awaitable[Outcome]]


def _overrides(
    freepbx_conf: str | None, database_url: str | None, reload_command: str | None
) -> dict[str, str | None]:
    return {"config_file": freepbx_conf, "database_url": database_url, "reload_command": reload_command}


def _reasons(text: str) -> tuple[str, ...]:
    return check_reasons(r.strip() for r in text.split(",") if r.strip())


def _change_pbx(
    config: Config,
    change: ChangeRun,
    show: Callable[[Outcome, FreepbxWiring], None],
    *,
    dry_run: bool,
    as_json: bool,
    label: str,
) -> Outcome:
    """Preview (shown to people), then, unless a dry run or nothing to do, change with progress."""

    async def act(wiring: FreepbxWiring) -> Outcome:
        preview = await change(wiring, True, None)
        if not as_json:
            show(preview, wiring)
            show_pending(preview, dry_run)
        if dry_run or not (preview.changes or preview.reload_pending):
            preview.dry_run = dry_run
            return preview
        if not preview.changes:
            return await change(wiring, False, None)
        with progress(count_extensions(preview.changes), label, quiet=as_json) as step:
            return await change(wiring, False, step)

    return asyncio.run(_run(config, act, dry_run=dry_run, quiet=as_json))


def _wiring_command(run: Callable[[], Outcome], verb: str, as_json: bool) -> None:
    """Run ``apply``/``revert`` and report, as text or JSON, errors included."""
    try:
        outcome = run()
    except ReloadFailed as exc:
        fail(exc, as_json, exc.outcome)
    except VoiceStatusError as exc:
        fail(exc, as_json)
    if as_json:
        echo_json(outcome)
    else:
        report(outcome, verb)


def _load(config_path: Path | None, overrides: dict[str, str | None]) -> Config:
    config = load_config(config_path)
    fields: dict[str, object] = {k: v for k, v in overrides.items() if v is not None}
    if fields:
        import dataclasses

        config = config.replace(freepbx=dataclasses.replace(config.freepbx, **fields))  # type: ignore[arg-type]
    return config


def _no_password_in_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and url_password(value):
        raise click.BadParameter(
            "a password in --database-url shows in 'ps' and the shell history. Use --database-url-stdin "
            "(printf '%s\\n' \"$URL\" | voicestatus freepbx ... --database-url-stdin), "
            "$VOICESTATUS_FREEPBX__DATABASE_URL, or [freepbx] database_url in the configuration.",
            ctx=ctx,
            param=param,
        )
    return value


freepbx_options = [
    click.option("--freepbx-conf", default=None, help="FreePBX's freepbx.conf ([freepbx] config_file)."),
    click.option(
        "--database-url",
        default=None,
        callback=_no_password_in_url,
        help="mysql://user@host/asterisk ([freepbx] database_url); with a password: --database-url-stdin.",
    ),
    click.option(
        "--database-url-stdin",
        is_flag=True,
        help="Read the FreePBX database URL (mysql://user:pass@host/asterisk) from standard input.",
    ),
    click.option("--reload-command", default=None, help="Instead of [freepbx] reload_command."),
]


def _url_from(database_url: str | None, from_stdin: bool) -> str | None:
    if not from_stdin:
        return database_url
    if database_url is not None:
        raise click.UsageError("give --database-url or --database-url-stdin, not both")
    return read_stdin_value("FreePBX database URL")


def _with_freepbx_options(func: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(freepbx_options):
        func = option(func)
    return func


@freepbx.command()
@click.option(
    "--extensions",
    required=True,
    help="Extensions: 101-130,205 or a pattern like _1XX. A range stands for the extensions that exist "
    "in it; a number named on its own must exist.",
)
@reasons_option
@click.option(
    "--force", is_flag=True, help="Also wire extensions outside [operators] pattern (refused otherwise)."
)
@dry_run_option
@json_option
@config_option
@_with_freepbx_options
def apply(
    extensions: str,
    reasons: str,
    force: bool,
    dry_run: bool,
    as_json: bool,
    config_path: Path | None,
    freepbx_conf: str | None,
    database_url: str | None,
    database_url_stdin: bool,
    reload_command: str | None,
) -> None:
    """Send unanswered/busy/unavailable calls of these extensions to voicestatus."""

    def run() -> Outcome:
        url = _url_from(database_url, database_url_stdin)
        config = _load(config_path, _overrides(freepbx_conf, url, reload_command))
        selection = parse_selection(extensions)
        wanted = _reasons(reasons)
        operators = ExtensionPattern.parse(config.operators.pattern)

        def change(wiring: FreepbxWiring, dry_run: bool, step: Progress | None) -> Awaitable[Outcome]:
            return wiring.apply(
                selection, wanted, actor=_actor(), dry_run=dry_run, progress=step, operators=operators,
                force=force,
            )  # fmt: skip

        def show(preview: Outcome, wiring: FreepbxWiring) -> None:
            if preview.not_operators:
                click.echo(
                    f"Warning: {compact(preview.not_operators)} not allowed by [operators] pattern "
                    f"{str(operators)!r}; wired anyway (--force).",
                    err=True,
                )
            if preview.unused:
                click.echo(f"Not extensions in FreePBX, left out: {compact(preview.unused)}")
            print_table(preview.changes, ("before", "after"))
            if preview.unchanged:
                click.echo(f"{len(preview.unchanged)} destination(s) already point at {wiring.destination}.")

        return _change_pbx(config, change, show, dry_run=dry_run, as_json=as_json, label="Updating FreePBX")

    _wiring_command(run, "applied", as_json)


@freepbx.command()
@click.option("--extensions", default=None, help="Only these extensions (default: every one applied).")
@reasons_option
@dry_run_option
@json_option
@config_option
@_with_freepbx_options
def revert(
    extensions: str | None,
    reasons: str,
    dry_run: bool,
    as_json: bool,
    config_path: Path | None,
    freepbx_conf: str | None,
    database_url: str | None,
    database_url_stdin: bool,
    reload_command: str | None,
) -> None:
    """Put back the destinations 'apply' replaced."""

    def run() -> Outcome:
        url = _url_from(database_url, database_url_stdin)
        config = _load(config_path, _overrides(freepbx_conf, url, reload_command))
        selection: Selection | None = parse_selection(extensions) if extensions else None
        wanted = _reasons(reasons)

        def change(wiring: FreepbxWiring, dry_run: bool, step: Progress | None) -> Awaitable[Outcome]:
            return wiring.revert(selection, wanted, actor=_actor(), dry_run=dry_run, progress=step)

        def show(preview: Outcome, wiring: FreepbxWiring) -> None:
            print_table(preview.changes, ("now", "restored"))
            for change, why in preview.skipped:
                click.echo(f"skipped {change.extension} {change.reason}: {why}")

        return _change_pbx(config, change, show, dry_run=dry_run, as_json=as_json, label="Restoring FreePBX")

    _wiring_command(run, "reverted", as_json)


@freepbx.command("dialplan")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(custom_conf.DEFAULT_PATH),
    show_default=True,
    help="The extensions_custom.conf to update.",
)
@click.option("--print", "print_only", is_flag=True, help="Print the block instead of writing it.")
@config_option
def dialplan_cmd(path: Path, print_only: bool, config_path: Path | None) -> None:
    """Write the voicestatus dialplan into extensions_custom.conf (a marked block)."""
    try:
        config = load_config(config_path)
        source = str(config_path) if config_path else None
        text = render_dialplan(config, "freepbx", source=source, block=True)
        if print_only:
            click.echo(custom_conf.block(text), nl=False)
            return
        if not custom_conf.update_file(path, text):
            click.echo(f"{path} is up to date.")
            return
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot update {path}: {exc.strerror or exc}") from exc
    click.echo(f"Updated the voicestatus block in {path}. Now run: fwconsole reload")
