"""What operators and admins do to messages, whichever way they come in.

The phone menu, the web UI, the API and the importer all go through here,
so every path processes audio the same way, stores it before it goes live,
and tells listeners (the co-located mirror, caches) about every change.
CPU-heavy audio work and file I/O run in worker threads so a recording
being processed never delays another caller's events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from voicestatus.audio.decode import decode_audio, read_wav
from voicestatus.audio.process import ProcessedAudio, ProcessingSettings, process_recording
from voicestatus.services.audit import Actor
from voicestatus.services.messages import MessageService, MessageView
from voicestatus.storage.media import MediaStore

log = logging.getLogger(__name__)

ChangeListener = Callable[[str], Awaitable[None]]


class OperatorMessages:
    """Process, stage, publish, delete and switch messages; notify listeners."""

    def __init__(
        self,
        messages: MessageService,
        media: MediaStore,
        settings: ProcessingSettings,
        *,
        max_upload_seconds: float,
    ) -> None:
        self.messages = messages
        self.media = media
        self.settings = settings
        self.max_upload_seconds = max_upload_seconds
        self._listeners: list[ChangeListener] = []

    def on_change(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    async def notify(self, extension: str) -> None:
        """Tell listeners that what callers of ``extension`` hear may have changed.

        For changes made outside this class (expiry, enabled, active status).
        """
        for listener in self._listeners:
            try:
                await listener(extension)
            except Exception:
                log.exception("message change listener failed for extension %s", extension)

    async def process_phone_recording(self, wav: bytes) -> ProcessedAudio:
        """Turn a WAV recorded by Asterisk into a message; raises AudioRejected."""
        max_seconds = self.max_upload_seconds

        def work() -> ProcessedAudio:
            return process_recording(read_wav(wav, max_seconds=max_seconds), self.settings)

        return await asyncio.to_thread(work)

    async def process_upload(self, data: bytes) -> ProcessedAudio:
        """Decode an uploaded file in any common format and process it; raises AudioRejected."""
        limit = self.max_upload_seconds

        def work() -> ProcessedAudio:
            return process_recording(decode_audio(data, max_seconds=limit), self.settings)

        return await asyncio.to_thread(work)

    async def stage(self, audio: ProcessedAudio) -> None:
        """Store the audio so it can be played (e.g. for review) before it goes live."""
        await asyncio.to_thread(self.media.put, audio)

    async def publish(
        self, extension: str, status: int, audio: ProcessedAudio, *, actor: Actor
    ) -> MessageView:
        """Make processed audio the operator's live message for ``status``."""
        await self.stage(audio)
        view = await self.messages.accept(
            extension,
            status,
            sha256=audio.sha256,
            duration=audio.duration,
            talk_duration=min(audio.talk_duration, audio.duration),
            loudness_lufs=audio.loudness_lufs,
            actor=actor,
        )
        await self.notify(extension)
        return view

    async def delete(self, extension: str, status: int, *, actor: Actor) -> bool:
        deleted = await self.messages.delete(extension, status, actor=actor)
        if deleted:
            await self.notify(extension)
        return deleted

    async def set_enabled(self, extension: str, enabled: bool, *, actor: Actor) -> bool:
        state = await self.messages.set_enabled(extension, enabled, actor=actor)
        await self.notify(extension)
        return state

    async def restore(self, extension: str, status: int, *, actor: Actor) -> MessageView | None:
        """Undo: bring back the message deleted or replaced last."""
        view = await self.messages.restore(extension, status, actor=actor)
        if view is not None:
            await self.notify(extension)
        return view

    def media_url(self, public_url: str, sha256: str, *, wideband: bool = False) -> str:
        """The ``sound:`` URI Asterisk plays for a stored message."""
        fmt = "wav16" if wideband else "wav"
        return f"sound:{public_url.rstrip('/')}/media/{sha256}.{fmt}"
