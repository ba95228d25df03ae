"""The co-located mirror: each operator's live message as a file Asterisk can play alone.

When the service runs on the Asterisk host (``[asterisk] sounds_dir``), the
generated dialplan can still play an operator's message while the service is
down: it reads AstDB ``voicestatus/<ext>`` and plays that sound name. So after
every message change this writes ``<sounds_dir>/voicestatus/<ext>.wav``
atomically (or removes it) and then sets (or clears) the AstDB key; the key is
set only after the file is complete and cleared before the file goes, so the
dialplan never names a file that is not there. ``sync_all`` on start heals
whatever was missed while Asterisk or the service was down.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

from voicestatus.asterisk.astdb import AstDbChange
from voicestatus.services.extensions import is_valid_extension
from voicestatus.services.messages import MessageService
from voicestatus.services.operators import MAX_PAGE, OperatorService, OperatorView
from voicestatus.storage.media import MediaStore

log = logging.getLogger(__name__)

FAMILY = "voicestatus"


class AstDbWriter(Protocol):
    async def apply(self, changes: list[AstDbChange]) -> None: ...


class MessageMirror:
    """Keeps ``<sounds_dir>/voicestatus/`` and AstDB in step with playable messages."""

    def __init__(
        self,
        sounds_dir: Path,
        media: MediaStore,
        messages: MessageService,
        operators: OperatorService,
        astdb: AstDbWriter | None,
    ) -> None:
        self.sounds_dir = Path(sounds_dir)
        self.media = media
        self.messages = messages
        self.operators = operators
        self.astdb = astdb
        self._lock = asyncio.Lock()

    @property
    def directory(self) -> Path:
        return self.sounds_dir / FAMILY

    async def on_change(self, extension: str) -> None:
        """A ``ChangeNotifier`` listener (see changes.py)."""
        await self.sync([extension])

    async def sync_all(self) -> None:
        """Mirror every operator with a record and remove files of anyone else."""
        known = {op.extension for op in await _all_operators(self.operators)}
        stale = {p.stem for p in self.directory.glob("*.wav") if is_valid_extension(p.stem)}
        await self.sync(sorted(known | stale))

    async def sync(self, extensions: list[str]) -> None:
        async with self._lock:
            sets: list[AstDbChange] = []
            clears: list[AstDbChange] = []
            for ext in extensions:
                if not is_valid_extension(ext):
                    continue
                message = await self.messages.playable(ext)
                if message is None:
                    clears.append(AstDbChange(FAMILY, ext, None))
                else:
                    await asyncio.to_thread(self.media.mirror, self.sounds_dir, ext, message.sha256)
                    sets.append(AstDbChange(FAMILY, ext, f"{FAMILY}/{ext}"))
            if self.astdb is not None:
                await self.astdb.apply(sets + clears)
            for change in clears:
                await asyncio.to_thread(self.media.mirror, self.sounds_dir, change.key, None)
            if sets or clears:
                log.info("mirror: %d message(s) written, %d cleared", len(sets), len(clears))


async def _all_operators(operators: OperatorService) -> list[OperatorView]:
    found: list[OperatorView] = []
    while True:
        page, total = await operators.list(offset=len(found), limit=MAX_PAGE)
        found.extend(page)
        if not page or len(found) >= total:
            return found
