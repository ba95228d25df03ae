"""Typed views of the ARI resources and events voicestatus uses.

Only the fields we read are declared; everything else Asterisk sends is
ignored, so a newer Asterisk adding fields never breaks parsing. Events of
types we do not model still parse, as plain ``Event``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class AriModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CallerId(AriModel):
    name: str = ""
    number: str = ""


class DialplanCep(AriModel):
    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""


class Channel(AriModel):
    id: str
    name: str = ""
    state: str = ""
    caller: CallerId = Field(default_factory=CallerId)
    connected: CallerId = Field(default_factory=CallerId)
    dialplan: DialplanCep = Field(default_factory=DialplanCep)
    language: str = "en"
    channelvars: dict[str, str] | None = None


class Playback(AriModel):
    id: str
    media_uri: str = ""
    target_uri: str = ""
    language: str = ""
    state: str = ""


class LiveRecording(AriModel):
    name: str
    format: str = ""
    state: str = ""
    target_uri: str = ""
    duration: int | None = None
    talking_duration: int | None = None
    silence_duration: int | None = None
    cause: str | None = None


class AsteriskSystemInfo(AriModel):
    version: str = ""


class AsteriskInfo(AriModel):
    system: AsteriskSystemInfo = Field(default_factory=AsteriskSystemInfo)


class Event(AriModel):
    """Any ARI event. Subclasses add the fields of the types we handle."""

    type: str
    application: str = ""
    timestamp: str = ""
    asterisk_id: str = ""

    TYPE: ClassVar[str] = ""

    @property
    def channel_id(self) -> str | None:
        channel: Channel | None = getattr(self, "channel", None)
        return channel.id if channel is not None else None


class StasisStart(Event):
    TYPE: ClassVar[str] = "StasisStart"
    args: list[str] = Field(default_factory=list)
    channel: Channel
    replace_channel: Channel | None = None


class StasisEnd(Event):
    TYPE: ClassVar[str] = "StasisEnd"
    channel: Channel


class ChannelDtmfReceived(Event):
    TYPE: ClassVar[str] = "ChannelDtmfReceived"
    digit: str
    duration_ms: int = 0
    channel: Channel


class ChannelHangupRequest(Event):
    TYPE: ClassVar[str] = "ChannelHangupRequest"
    cause: int = 0
    soft: bool = False
    channel: Channel


class ChannelDestroyed(Event):
    TYPE: ClassVar[str] = "ChannelDestroyed"
    cause: int = 0
    cause_txt: str = ""
    channel: Channel


class ChannelStateChange(Event):
    TYPE: ClassVar[str] = "ChannelStateChange"
    channel: Channel


class ChannelVarset(Event):
    TYPE: ClassVar[str] = "ChannelVarset"
    variable: str
    value: str = ""
    channel: Channel | None = None


class ChannelTalkingStarted(Event):
    TYPE: ClassVar[str] = "ChannelTalkingStarted"
    channel: Channel


class ChannelTalkingFinished(Event):
    TYPE: ClassVar[str] = "ChannelTalkingFinished"
    duration: int = 0
    channel: Channel


class PlaybackStarted(Event):
    TYPE: ClassVar[str] = "PlaybackStarted"
    playback: Playback


class PlaybackFinished(Event):
    TYPE: ClassVar[str] = "PlaybackFinished"
    playback: Playback


class PlaybackContinuing(Event):
    TYPE: ClassVar[str] = "PlaybackContinuing"
    playback: Playback


class RecordingStarted(Event):
    TYPE: ClassVar[str] = "RecordingStarted"
    recording: LiveRecording


class RecordingFinished(Event):
    TYPE: ClassVar[str] = "RecordingFinished"
    recording: LiveRecording


class RecordingFailed(Event):
    TYPE: ClassVar[str] = "RecordingFailed"
    recording: LiveRecording


class ApplicationReplaced(Event):
    TYPE: ClassVar[str] = "ApplicationReplaced"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        StasisStart,
        StasisEnd,
        ChannelDtmfReceived,
        ChannelHangupRequest,
        ChannelDestroyed,
        ChannelStateChange,
        ChannelVarset,
        ChannelTalkingStarted,
        ChannelTalkingFinished,
        PlaybackStarted,
        PlaybackFinished,
        PlaybackContinuing,
        RecordingStarted,
        RecordingFinished,
        RecordingFailed,
        ApplicationReplaced,
    )
}


def parse_event(raw: str | bytes | dict[str, Any]) -> Event:
    """Parse one websocket message into the most specific event model.

    Raises ``ValueError`` for messages that are not JSON objects with a
    ``type``; the event stream logs and drops those.
    """
    data = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ValueError("ARI event without a type")
    cls = EVENT_TYPES.get(data["type"], Event)
    return cls.model_validate(data)
