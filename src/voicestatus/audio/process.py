"""What happens to a recording when it is accepted as a status message.

Callers hear messages recorded on different phones and uploaded from anywhere,
back to back; they should all sound equally loud and start right away. So every
message is trimmed to its talk (plus a little padding), brought to one loudness
target (BS.1770) without exceeding the peak ceiling, and stored as the two WAV
variants Asterisk plays: 8 kHz for narrowband calls, 16 kHz for wideband ones.

Talk is measured, not assumed: 20 ms frames of the 8 kHz signal (high-passed at
120 Hz so hum and DC do not count) whose level is above
``silence_threshold_dbfs``; pauses up to 0.25 s between talk frames count as
talk, as they do for a listener. A recording with (almost) none is "silent", one
with less than ``min_talk_seconds`` is "too short".
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.signal  # type: ignore[import-untyped, unused-ignore]
import soxr

from voicestatus.audio.errors import EmptyAudio, SilentAudio, TooLittleTalk
from voicestatus.audio.loudness import integrated_loudness
from voicestatus.audio.pcm import FloatArray, Pcm
from voicestatus.audio.wav import encode_wav

if TYPE_CHECKING:
    from voicestatus.config import Config

NARROWBAND_RATE = 8000
WIDEBAND_RATE = 16000
_FRAME_SECONDS = 0.02
_BRIDGE_SECONDS = 0.25
_SILENT_BELOW_SECONDS = 0.1
_PEAK_MARGIN_DB = 0.01  # int16 rounding must not lift the peak over the ceiling


@dataclass(frozen=True)
class ProcessingSettings:
    """Targets for accepted recordings; see :meth:`from_config`."""

    target_lufs: float = -20.0
    peak_dbfs: float = -1.0
    min_talk_seconds: float = 1.0
    silence_threshold_dbfs: float = -45.0
    keep_padding: float = 0.15

    def __post_init__(self) -> None:
        if not -70.0 < self.target_lufs < 0.0:
            raise ValueError(f"target_lufs must be between -70 and 0, got {self.target_lufs}")
        if not -40.0 <= self.peak_dbfs <= 0.0:
            raise ValueError(f"peak_dbfs must be between -40 and 0, got {self.peak_dbfs}")
        if self.min_talk_seconds < 0 or self.keep_padding < 0:
            raise ValueError("min_talk_seconds and keep_padding must not be negative")
        if not -100.0 < self.silence_threshold_dbfs < 0.0:
            raise ValueError("silence_threshold_dbfs must be between -100 and 0")

    @classmethod
    def from_config(cls, config: Config) -> ProcessingSettings:
        """Settings from the ``[media]`` and ``[phone]`` sections."""
        return cls(
            target_lufs=config.media.target_lufs,
            peak_dbfs=config.media.peak_dbfs,
            min_talk_seconds=config.phone.min_talk_seconds,
        )


@dataclass(frozen=True)
class ProcessedAudio:
    """A message ready to store: both WAV variants and what was measured.

    ``sha256`` is the hex digest of ``wav8k`` (the content address);
    ``loudness_lufs`` and ``peak_dbfs`` describe the 8 kHz variant.
    """

    sha256: str
    wav8k: bytes = field(repr=False)
    wav16k: bytes = field(repr=False)
    duration: float
    talk_duration: float
    loudness_lufs: float
    peak_dbfs: float


@dataclass(frozen=True)
class _Talk:
    seconds: float
    start: float
    end: float


def process_recording(pcm: Pcm, settings: ProcessingSettings) -> ProcessedAudio:
    """Trim, measure, normalise and encode ``pcm``; refuse it if there is too little talk."""
    if len(pcm) == 0:
        raise EmptyAudio("The recording contains no sound samples.")
    samples, rate = pcm.samples, pcm.rate
    if rate > WIDEBAND_RATE:
        # Nothing above 8 kHz survives, so uploads (44.1/48 kHz) are brought
        # down once and both variants are made from that; the DC offset is
        # then removed from a third of the samples (resampling keeps it).
        samples, rate = _resample(samples, rate, WIDEBAND_RATE), WIDEBAND_RATE
        samples -= np.float32(np.mean(samples, dtype=np.float64))
    else:
        samples = samples - np.float32(np.mean(samples, dtype=np.float64))
    narrow = _resample(samples, rate, NARROWBAND_RATE)
    talk = measure_talk(narrow, NARROWBAND_RATE, settings.silence_threshold_dbfs)
    _refuse_too_little_talk(talk, pcm.duration, settings)

    start = max(0.0, talk.start - settings.keep_padding)
    end = min(pcm.duration, talk.end + settings.keep_padding)
    narrow = narrow[round(start * NARROWBAND_RATE) : round(end * NARROWBAND_RATE)]
    wide = _resample(samples[round(start * rate) : round(end * rate)], rate, WIDEBAND_RATE)

    wav8k, loudness, peak = _normalise(narrow, NARROWBAND_RATE, settings)
    wav16k, _, _ = _normalise(wide, WIDEBAND_RATE, settings)
    return ProcessedAudio(
        sha256=hashlib.sha256(wav8k).hexdigest(),
        wav8k=wav8k,
        wav16k=wav16k,
        duration=len(narrow) / NARROWBAND_RATE,
        talk_duration=talk.seconds,
        loudness_lufs=loudness,
        peak_dbfs=peak,
    )


def measure_talk(samples: FloatArray, rate: int, threshold_dbfs: float) -> _Talk:
    """Seconds of talk and where it starts and ends (0, 0, 0 when there is none)."""
    frame = max(1, round(_FRAME_SECONDS * rate))
    count = -(-len(samples) // frame)
    if count == 0:
        return _Talk(0.0, 0.0, 0.0)
    filtered = scipy.signal.lfilter(*_hum_filter(rate), samples.astype(np.float64))
    whole = len(samples) // frame * frame
    frames = filtered[:whole].reshape(-1, frame)
    power = np.einsum("ij,ij->i", frames, frames)
    if whole < len(samples):  # a last, partial frame counts as if padded with silence
        power = np.append(power, np.dot(filtered[whole:], filtered[whole:]))
    power /= frame
    talk_frames = np.flatnonzero(power > 10.0 ** (threshold_dbfs / 10.0))
    if len(talk_frames) == 0:
        return _Talk(0.0, 0.0, 0.0)
    gaps = np.diff(talk_frames) - 1
    bridge = max(0, math.floor(_BRIDGE_SECONDS * rate / frame))
    bridged = int(np.sum(gaps[(gaps > 0) & (gaps <= bridge)]))
    seconds = (len(talk_frames) + bridged) * frame / rate
    start = int(talk_frames[0]) * frame / rate
    end = min(len(samples), (int(talk_frames[-1]) + 1) * frame) / rate
    return _Talk(seconds, start, end)


def _refuse_too_little_talk(talk: _Talk, duration: float, settings: ProcessingSettings) -> None:
    details: dict[str, object] = {
        "duration_seconds": round(duration, 2),
        "talk_seconds": round(talk.seconds, 2),
        "min_talk_seconds": settings.min_talk_seconds,
    }
    if talk.seconds < min(_SILENT_BELOW_SECONDS, settings.min_talk_seconds) or talk.seconds == 0:
        raise SilentAudio(
            f"No speech was found in the {duration:.1f} s recording. "
            "Check that the microphone is not muted and record again.",
            details=details,
        )
    if talk.seconds < settings.min_talk_seconds:
        raise TooLittleTalk(
            f"The recording has only {talk.seconds:.1f} s of speech; at least "
            f"{settings.min_talk_seconds:.1f} s is needed. Record a longer message.",
            details=details,
        )


def _normalise(samples: FloatArray, rate: int, settings: ProcessingSettings) -> tuple[bytes, float, float]:
    """WAV bytes at the loudness target (or lower, if the peak ceiling requires), LUFS, peak."""
    loudness = integrated_loudness(samples, rate)
    if not math.isfinite(loudness):
        # Shorter than one 400 ms gating block: plain mean square stands in.
        mean_square = float(np.dot(samples, samples)) / len(samples) if len(samples) else 0.0
        loudness = -0.691 + 10.0 * math.log10(mean_square) if mean_square > 0 else -math.inf
    peak = max(float(np.max(samples)), -float(np.min(samples))) if len(samples) else 0.0
    if not math.isfinite(loudness) or peak <= 0.0:
        return encode_wav(samples, rate), -math.inf, -math.inf
    gain_db = min(
        settings.target_lufs - loudness,
        settings.peak_dbfs - _PEAK_MARGIN_DB - 20.0 * math.log10(peak),
    )
    # The gain keeps every sample under the ceiling, so scaling straight to
    # int16 needs no clipping; the peak is that of the samples written.
    scaled = samples * np.float32(10.0 ** (gain_db / 20.0) * 32767.0)
    ints = np.rint(scaled, out=scaled).astype("<i2")
    out_peak = max(int(np.max(ints)), -int(np.min(ints)))
    peak_dbfs = 20.0 * math.log10(out_peak / 32768.0) if out_peak else -math.inf
    return encode_wav(ints, rate), loudness + gain_db, peak_dbfs


def _resample(samples: FloatArray, rate: int, target: int) -> FloatArray:
    """``samples`` at ``target`` Hz: a new array, or ``samples`` itself when the rate is already right."""
    if rate == target:
        return samples
    out: FloatArray = soxr.resample(samples, rate, target, quality="HQ").astype(np.float32, copy=False)
    return out


@functools.lru_cache(maxsize=8)
def _hum_filter(rate: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    b, a = scipy.signal.butter(4, 120.0, btype="highpass", fs=rate)
    return b, a
