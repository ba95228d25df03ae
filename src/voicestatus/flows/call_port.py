"""The ARI operations a call's flow may use, as one typed seam.

Flows reach Asterisk only through :class:`~voicestatus.flows.session.CallSession`,
and the session only through this protocol. ``AriClient`` satisfies it
structurally, and so do the unit tests' fakes, which mypy checks against it
(a typed assignment, no cast): a fake cannot drift from what the flows
really call, and a new ARI call in a flow has to be added here first, where
the fakes then fail to type-check until they learn it too.

Parameter names match ``AriClient``'s, so keyword calls work on either side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from voicestatus.ari.models import LiveRecording, Playback


class CallPort(Protocol):
    """Exactly the ARI requests ``CallSession`` makes for one call."""

    async def answer(self, channel_id: str) -> None: ...

    async def hangup(self, channel_id: str) -> None: ...

    async def continue_in_dialplan(self, channel_id: str, *, label: str | None = None) -> None: ...

    async def get_variable(self, channel_id: str, variable: str) -> str | None: ...

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None: ...

    async def play(
        self,
        channel_id: str,
        media: Sequence[str],
        *,
        lang: str | None = None,
        playback_id: str | None = None,
    ) -> Playback: ...

    async def stop_playback(self, playback_id: str) -> None: ...

    async def record(
        self,
        channel_id: str,
        name: str,
        *,
        max_duration: int,
        max_silence: int,
        beep: bool,
        terminate_on: str,
        if_exists: str,
    ) -> LiveRecording: ...

    async def get_stored_recording(self, name: str) -> bytes: ...

    async def delete_stored_recording(self, name: str) -> None: ...

    async def cancel_recording(self, name: str) -> None: ...
