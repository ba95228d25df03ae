"""Routes ARI events to per-channel sessions and starts one flow per call.

``Stasis(voicestatus,<flow>,...)``: the first application argument names the
flow. Whatever a flow does wrong, the call goes back to the dialplan with
``VOICESTATUS_FAILED=1`` set, where the generated fallback plays something:
a caller is never left in silence because of a bug or a lost database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from voicestatus.ari.models import Event, StasisEnd, StasisStart
from voicestatus.errors import AriError
from voicestatus.flows.call_port import CallPort
from voicestatus.flows.session import CallerHungUp, CallSession

log = logging.getLogger(__name__)

Flow = Callable[[CallSession], Awaitable[None]]

# Event types our flows react to; everything else is filtered out by Asterisk,
# which then neither builds nor sends it. A hang-up shows as ChannelHangupRequest
# and then StasisEnd; ChannelDestroyed always comes after StasisEnd, when the
# session is already gone, and no flow waits for PlaybackStarted.
FLOW_EVENTS = (
    "StasisStart",
    "StasisEnd",
    "ChannelDtmfReceived",
    "ChannelHangupRequest",
    "PlaybackFinished",
    "RecordingStarted",
    "RecordingFinished",
    "RecordingFailed",
)


class StasisRouter:
    """Keeps the live sessions of one Stasis app and feeds them their events."""

    def __init__(
        self,
        ari: CallPort,
        flows: Mapping[str, Flow],
        *,
        on_flow_done: Callable[[str, str], None] | None = None,
    ) -> None:
        self.ari = ari
        self.flows = dict(flows)
        self.sessions: dict[str, CallSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_flow_done = on_flow_done

    def handle(self, event: Event) -> None:
        if isinstance(event, StasisStart):
            self._start(event)
            return
        channel_id = event.channel_id or _target_channel(event)
        if channel_id is None:
            return
        session = self.sessions.get(channel_id)
        if session is not None:
            session.feed(event)
            if isinstance(event, StasisEnd):
                self.sessions.pop(channel_id, None)

    def _start(self, event: StasisStart) -> None:
        session = CallSession(self.ari, event.channel, event.args)
        self.sessions[session.id] = session
        task = asyncio.create_task(self._run(session), name=f"flow-{session.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, session: CallSession) -> None:
        name = session.args[0] if session.args else ""
        flow = self.flows.get(name)
        outcome = "ok"
        try:
            if flow is None:
                log.warning("Stasis called with unknown flow %r on %s", name[:40], session.channel.name)
                outcome = "unknown-flow"
                await self._bail_out(session)
                return
            await flow(session)
        except CallerHungUp:
            outcome = "hangup"
        except Exception:
            outcome = "error"
            log.exception("flow %s failed on channel %s", name, session.channel.name)
            await self._bail_out(session)
        finally:
            if session.ended:
                self.sessions.pop(session.id, None)
            if self._on_flow_done is not None:
                self._on_flow_done(name, outcome)

    async def _bail_out(self, session: CallSession) -> None:
        """Hand the call back to the dialplan's fallback, or hang up if even that fails.

        ``CallerHungUp`` counts as a failure here too: the session raises it
        when Asterisk says the channel is gone, and the hang-up that follows
        is then a harmless no-op rather than an exception escaping the task.
        """
        if session.ended:
            return
        try:
            await session.set_variable("VOICESTATUS_FAILED", "1")
            await session.continue_in_dialplan()
        except (AriError, CallerHungUp):
            with contextlib.suppress(AriError):
                await session.hangup()

    async def drain(self, timeout: float) -> None:
        """Wait for running flows to finish (used on shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


def _target_channel(event: Event) -> str | None:
    resource = getattr(event, "playback", None) or getattr(event, "recording", None)
    target = getattr(resource, "target_uri", "") if resource is not None else ""
    if target.startswith("channel:"):
        return str(target[len("channel:") :])
    return None
