"""``voicestatus import-legacy``: take over a legacy installation.

Builds the same services ``serve`` uses (database, media store, message
processing) without ARI, reads the ``op_alert`` flags through AMI or from an
``astdb.sqlite3`` file, and prints one line per operator as it goes. A dry
run builds no services at all: it reads our database only if it exists
(read-only) and creates no media directory.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from voicestatus.asterisk.ami import AmiClient
from voicestatus.audio.process import ProcessingSettings
from voicestatus.config import CONFIG_HELP, Config, load_config
from voicestatus.errors import VoiceStatusError
from voicestatus.freepbx.legacy import (
    DEFAULT_SOUNDS_DIR,
    ImportItem,
    ImportReport,
    LegacyImporter,
    audio_processor,
    flags_from_ami,
    flags_from_astdb_file,
    recordings,
)
from voicestatus.freepbx.state_db import open_database
from voicestatus.services.audit import Actor, AuditService
from voicestatus.services.extensions import ExtensionPattern
from voicestatus.services.messages import MessageService
from voicestatus.services.operators import OperatorService
from voicestatus.storage.media import MediaStore


def _status_digit(config: Config, wanted: str | None) -> int:
    if wanted is None:
        return config.statuses[0].digit
    for status in config.statuses:
        if wanted in (str(status.digit), status.key):
            return status.digit
    known = ", ".join(f"{s.digit}={s.key}" for s in config.statuses)
    raise click.BadParameter(f"unknown status {wanted!r} (configured: {known})", param_hint="--status")


async def _import(
    config: Config, sounds_dir: Path, astdb: Path | None, status: int, dry_run: bool
) -> ImportReport:
    if astdb is not None:
        flags = await asyncio.to_thread(flags_from_astdb_file, astdb)
    else:
        async with AmiClient.from_config(config.asterisk) as ami:
            flags = await flags_from_ami(ami)
    files = await asyncio.to_thread(recordings, sounds_dir)
    click.echo(f"Found {len(flags)} op_alert flag(s) and {len(files)} rec_<ext>.wav file(s).")
    pattern = ExtensionPattern.parse(config.operators.pattern)
    settings = ProcessingSettings.from_config(config)
    db = await open_database(config.database.url, dry_run=dry_run)
    try:
        messages: MessageService | None = None
        if db is not None and not dry_run:
            audit = AuditService(db)
            operators = OperatorService(db, is_allowed=pattern.matches, audit=audit)
            messages = MessageService(
                db,
                operators,
                media=MediaStore(Path(config.media.dir)),
                processing=settings,
                max_upload_seconds=config.media.max_upload_seconds,
                audit=audit,
            )
        importer = LegacyImporter(
            db,
            messages,
            process=audio_processor(settings, config.media.max_upload_seconds),
            is_operator=pattern.matches,
            status=status,
            actor=Actor("cli", "import-legacy"),
        )
        total = len(set(flags) | set(files))
        done = 0

        def progress(item: ImportItem) -> None:
            nonlocal done
            done += 1
            click.echo(f"[{done}/{total}] {item.extension}: {item.outcome} ({item.detail})")

        return await importer.run(flags, files, dry_run=dry_run, progress=progress)
    finally:
        if db is not None:
            await db.close()


@click.command("import-legacy")
@click.option(
    "--sounds-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=DEFAULT_SOUNDS_DIR,
    show_default=True,
    help="Where the article's Record() left rec_<ext>.wav.",
)
@click.option(
    "--astdb",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Read op_alert flags from this astdb.sqlite3 instead of asking Asterisk over AMI.",
)
@click.option("--status", "status_name", default=None, help="Status digit or key (default: the first).")
@click.option("--dry-run", is_flag=True, help="Report what would be imported; change nothing.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=CONFIG_HELP)  # fmt: skip
def import_legacy(
    sounds_dir: Path, astdb: Path | None, status_name: str | None, dry_run: bool, config_path: Path | None
) -> None:
    """Import a legacy installation: op_alert flags and rec_<ext>.wav files."""
    try:
        config = load_config(config_path)
        status = _status_digit(config, status_name)
        report = asyncio.run(_import(config, sounds_dir, astdb, status, dry_run))
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot read the legacy installation: {exc}") from exc
    done = report.count("would import") if dry_run else report.count("imported")
    verb = "would be imported (dry run, nothing changed)" if dry_run else "imported"
    click.echo(f"{done} message(s) {verb}, {report.count('skipped')} skipped.")
