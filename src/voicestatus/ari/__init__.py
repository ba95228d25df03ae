"""Asterisk REST Interface: REST client, events websocket, typed models.

Protocol only: nothing here knows about operators or messages.
"""

from __future__ import annotations

from voicestatus.ari.client import AriClient
from voicestatus.ari.events import ConnectionState, EventStream
from voicestatus.ari.models import (
    Channel,
    ChannelDtmfReceived,
    Event,
    LiveRecording,
    Playback,
    StasisEnd,
    StasisStart,
    parse_event,
)

__all__ = [
    "AriClient",
    "Channel",
    "ChannelDtmfReceived",
    "ConnectionState",
    "Event",
    "EventStream",
    "LiveRecording",
    "Playback",
    "StasisEnd",
    "StasisStart",
    "parse_event",
]
