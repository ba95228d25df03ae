"""An in-memory Asterisk for the flow tests: a ``CallPort`` that answers with events.

Flows reach Asterisk only through ``CallPort`` (``voicestatus.flows.call_port``),
and this fake implements exactly that protocol, with no cast: mypy checks it
structurally wherever it is passed as a ``CallPort`` (``CallSession(fake,
...)``, ``StasisRouter(fake, ...)``), so it cannot drift from what the flows
call on the real ``AriClient``.

It answers as Asterisk would: a playback finishes with ``PlaybackFinished``
(``done``, or ``failed`` for media in ``failed_media``), a recording starts and
finishes with its events, a hang-up or a return to the dialplan ends the
channel's Stasis with ``StasisEnd``. Events are delivered through
``deliver`` (a session's ``feed`` or a router's ``handle``), always from a
later loop iteration for results that Asterisk reports asynchronously, so the
flow sees them in the same order as on a real call. Every request is logged in
``calls``; ``errors`` makes one raise instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from voicestatus.ari.models import (
    Channel,
    ChannelDtmfReceived,
    Event,
    LiveRecording,
    Playback,
    PlaybackFinished,
    RecordingFinished,
    RecordingStarted,
    StasisEnd,
)
from voicestatus.errors import AriError, AriNotFound
from voicestatus.flows.session import CallSession

Call = tuple[str, ...]


class FakeAri:
    """Asterisk's side of the calls a test places, one channel at a time."""

    def __init__(self, channel: Channel | None = None, variables: dict[str, str] | None = None) -> None:
        self.channel = channel
        self.deliver: Callable[[Event], None] | None = None
        self.session: CallSession | None = None
        # Every request, in order: ("answer",), ("play", *media), ("set_variable", name, value), ...
        self.calls: list[Call] = []
        # Channel variables and dialplan functions; a name not here is unset (None).
        self.variables: dict[str, str] = dict(variables or {})
        # A request to fail: its operation ("play"), or operation and first argument
        # ("get_variable:EXTTOCALL"), mapped to the error Asterisk would answer with.
        self.errors: dict[str, AriError] = {}
        # Media (first item of a play) whose playback Asterisk reports as failed.
        self.failed_media: set[str] = set()
        self.hold: set[str] = set()
        self.held: dict[str, str] = {}
        self.recording: str | None = None
        self.stored: dict[str, bytes] = {}
        self.hung_up = False
        self.continued = False
        self.late_digits = ""

    def attach(self, session: CallSession) -> CallSession:
        """Answer ``session``'s requests with events fed straight into it."""
        self.session = session
        self.channel = session.channel
        self.deliver = session.feed
        return session

    # -- helpers for tests ------------------------------------------------------------

    def _feed(self, event: Event) -> None:
        assert self.deliver is not None, "attach() the fake to a session, or set deliver"
        self.deliver(event)

    def _channel(self) -> Channel:
        assert self.channel is not None
        return self.channel

    def _request(self, *call: str) -> None:
        """Log one request, and raise the error a test asked for."""
        self.calls.append(call)
        op = call[0]
        detail = f"{op}:{call[1]}" if len(call) > 1 else op
        error = self.errors.get(detail) or self.errors.get(op)
        if error is not None:
            raise error

    def _end_stasis(self) -> None:
        self._feed(StasisEnd(type="StasisEnd", channel=self._channel()))

    def _target(self) -> str:
        """Where Asterisk says a playback or recording happens (how the router finds the call)."""
        return f"channel:{self._channel().id}"

    def _finish_playback(self, playback_id: str, state: str = "done") -> None:
        playback = Playback(id=playback_id, state=state, target_uri=self._target())
        self._feed(PlaybackFinished(type="PlaybackFinished", playback=playback))

    def release(self, media: str) -> None:
        """Let a held playback (``hold``) finish now."""
        self.hold.discard(media)
        self._finish_playback(self.held.pop(media))

    def finish_recording(self, audio: bytes) -> None:
        """The caller pressed # or went quiet: the recording is stored as ``audio``."""
        assert self.recording is not None
        self.stored[self.recording] = audio
        recording = LiveRecording(name=self.recording, state="done", target_uri=self._target())
        self._feed(RecordingFinished(type="RecordingFinished", recording=recording))

    def requests(self, op: str) -> list[Call]:
        """The logged requests of one kind."""
        return [call for call in self.calls if call[0] == op]

    # -- CallPort ---------------------------------------------------------------------

    async def answer(self, channel_id: str) -> None:
        self._request("answer")

    async def hangup(self, channel_id: str) -> None:
        self._request("hangup")
        self.hung_up = True
        self._end_stasis()

    async def continue_in_dialplan(self, channel_id: str, *, label: str | None = None) -> None:
        self._request("continue_in_dialplan", label or "")
        self.continued = True
        self._end_stasis()

    async def get_variable(self, channel_id: str, variable: str) -> str | None:
        self._request("get_variable", variable)
        return self.variables.get(variable)

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        self._request("set_variable", variable, value)
        self.variables[variable] = value

    async def play(
        self,
        channel_id: str,
        media: Sequence[str],
        *,
        lang: str | None = None,
        playback_id: str | None = None,
    ) -> Playback:
        self._request("play", *media)
        assert playback_id, "the session names its playbacks, so their events can be matched"
        first = media[0]
        if first in self.hold:
            self.held[first] = playback_id
        else:
            state = "failed" if first in self.failed_media else "done"
            asyncio.get_running_loop().call_soon(self._finish_playback, playback_id, state)
        return Playback(id=playback_id, target_uri=self._target())

    async def stop_playback(self, playback_id: str) -> None:
        self._request("stop_playback", playback_id)
        asyncio.get_running_loop().call_soon(self._finish_playback, playback_id, "done")

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
    ) -> LiveRecording:
        self._request("record", name)
        self.recording = name
        recording = LiveRecording(name=name, state="recording", target_uri=self._target())
        asyncio.get_running_loop().call_soon(
            self._feed, RecordingStarted(type="RecordingStarted", recording=recording)
        )
        return recording

    async def get_stored_recording(self, name: str) -> bytes:
        self._request("get_stored_recording", name)
        if self.session is not None:
            press(self.session, self.late_digits)
        if name not in self.stored:
            raise AriNotFound("Recording not found", http_status=404)
        return self.stored[name]

    async def delete_stored_recording(self, name: str) -> None:
        self._request("delete_stored_recording", name)
        if self.stored.pop(name, None) is None:
            raise AriNotFound("Recording not found", http_status=404)

    async def cancel_recording(self, name: str) -> None:
        self._request("cancel_recording", name)
        raise AriNotFound("Recording not found", http_status=404)


def press(session: CallSession, digits: str) -> None:
    """The caller presses ``digits``, as Asterisk reports them."""
    for digit in digits:
        session.feed(ChannelDtmfReceived(type="ChannelDtmfReceived", digit=digit, channel=session.channel))
