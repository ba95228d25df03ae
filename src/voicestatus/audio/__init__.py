"""Audio: decode uploads and recordings, trim and normalise them.

The public names are re-exported here; the modules behind them are
``decode`` (bytes to :class:`Pcm`), ``process`` (accepting a recording),
``wav`` (the canonical WAV bytes) and ``loudness`` (BS.1770). Tone and
level detection for tests is ``voicestatus_dev.analysis``: it is not shipped.
"""

from __future__ import annotations

from voicestatus.audio.decode import SUPPORTED_FORMATS, decode_audio, read_wav
from voicestatus.audio.errors import (
    AudioRejected,
    AudioTooLong,
    EmptyAudio,
    SilentAudio,
    TooLittleTalk,
    UndecodableAudio,
)
from voicestatus.audio.pcm import Pcm
from voicestatus.audio.process import ProcessedAudio, ProcessingSettings, process_recording
from voicestatus.audio.wav import encode_wav

__all__ = [
    "SUPPORTED_FORMATS",
    "AudioRejected",
    "AudioTooLong",
    "EmptyAudio",
    "Pcm",
    "ProcessedAudio",
    "ProcessingSettings",
    "SilentAudio",
    "TooLittleTalk",
    "UndecodableAudio",
    "decode_audio",
    "encode_wav",
    "process_recording",
    "read_wav",
]
