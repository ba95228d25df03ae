"""``voicestatus purge [--dry-run]``: apply retention now, without the service.

The running service purges once a day by itself; this is for an admin who
wants it now, or wants to see first what it would remove. It opens the
configured database and media directory directly and applies the same rules
(``[media] history_days`` and ``orphan_hours``), audited as ``cli:<user>``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from voicestatus.cli.admin import cli_actor, config_option
from voicestatus.config import load_config
from voicestatus.errors import VoiceStatusError
from voicestatus.services.audit import AuditService
from voicestatus.services.housekeeping import MediaHousekeeper, PurgeReport
from voicestatus.storage.database import Database
from voicestatus.storage.media import MediaStore


@click.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Report what would be removed; change nothing.")
def purge(config_path: Path | None, dry_run: bool) -> None:
    """Purge message history older than [media] history_days and audio nothing uses."""

    async def main() -> PurgeReport:
        config = load_config(config_path)
        db = Database(config.database.url)
        try:
            await db.migrate()
            keeper = MediaHousekeeper(
                db,
                MediaStore(Path(config.media.dir)),
                history_days=config.media.history_days,
                orphan_hours=config.media.orphan_hours,
                audit=AuditService(db),
            )
            return await keeper.purge(dry_run=dry_run, actor=cli_actor())
        finally:
            await db.close()

    try:
        report = asyncio.run(main())
    except VoiceStatusError as exc:
        raise click.ClickException(exc.message) from exc
    verb = "would remove" if dry_run else "removed"
    click.echo(f"history messages {verb}: {report.messages}")
    for label, shas in (("history audio", report.files), ("never-accepted audio", report.orphans)):
        click.echo(f"{label} {verb}: {len(shas)}")
        for sha in shas:
            click.echo(f"  {sha}")
    click.echo(f"temporary files {verb}: {report.temp_files}")
    if report.kept:
        click.echo(f"kept (still in use or written lately): {len(report.kept)}")
