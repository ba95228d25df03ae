"""Why a recording or an upload was refused.

Each refusal is an ``InvalidInput`` (HTTP 400) with its own ``error_id``, so the
web page, the API and the phone menu can each tell the person what to do about
it (record again, speak longer, pick another file) instead of a generic
"bad request"::

    InvalidInput
    └── AudioRejected           audio-rejected
        ├── EmptyAudio          audio-empty: nothing was uploaded or recorded
        ├── UndecodableAudio    audio-undecodable: not audio, unsupported or corrupt
        ├── AudioTooLong        audio-too-long: longer than the configured limit
        ├── SilentAudio         audio-silent: no speech at all
        └── TooLittleTalk       audio-too-short: some speech, but less than the minimum
"""

from __future__ import annotations

from voicestatus.errors import InvalidInput


class AudioRejected(InvalidInput):
    """Audio that cannot become a status message."""

    error_id = "audio-rejected"


class EmptyAudio(AudioRejected):
    """The input has no bytes, or no sound samples."""

    error_id = "audio-empty"


class UndecodableAudio(AudioRejected):
    """The bytes are not audio in a supported format, or are corrupt."""

    error_id = "audio-undecodable"


class AudioTooLong(AudioRejected):
    """The audio is longer than the configured limit."""

    error_id = "audio-too-long"


class SilentAudio(AudioRejected):
    """No speech was found anywhere in the recording."""

    error_id = "audio-silent"


class TooLittleTalk(AudioRejected):
    """There is speech, but less than ``min_talk_seconds`` of it."""

    error_id = "audio-too-short"
