"""Listening to audio in tests: which tones play, when sound starts, how much is silence.

Tests that call through the real Asterisk record what the caller hears and
assert on it with these helpers ("the beep came after 0.3 s", "the message at
1 kHz played for 2 s, then the 425 Hz busy tone"). Windows are analysed as
matrices, so minutes of audio take milliseconds. Levels are dBFS relative to
a full-scale sample (a full-scale sine has an RMS of -3 dBFS).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from voicestatus.audio.pcm import FloatArray, Pcm

_LEVEL_WINDOW = 0.02
_TONE_FLOOR_DBFS = -60.0


def goertzel_power(samples: npt.ArrayLike, rate: int, freq: float) -> float:
    """Power of the ``freq`` component of ``samples``, on the scale of the mean square.

    A sine of amplitude A at ``freq`` gives A**2 / 2, its whole power, when the
    block holds a whole number of periods.
    """
    x = np.asarray(samples, dtype=np.float64)
    if len(x) == 0:
        return 0.0
    phase = np.exp(-2j * np.pi * freq * np.arange(len(x)) / rate)
    return float(2.0 * abs(np.dot(x, phase)) ** 2 / len(x) ** 2)


def _windows(pcm: Pcm, window: float) -> tuple[npt.NDArray[np.float64], int]:
    size = max(1, round(window * pcm.rate))
    count = len(pcm.samples) // size
    frames = pcm.samples[: count * size].astype(np.float64).reshape(count, size)
    return frames, size


def _window_power(frames: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    power: npt.NDArray[np.float64] = np.mean(np.square(frames), axis=1)
    return power


def _tone_ratio(
    pcm: Pcm, freqs: Sequence[float], window: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], int]:
    frames, size = _windows(pcm, window)
    n = np.arange(size)
    tone_power = np.zeros(len(frames))
    for freq in freqs:
        phase = np.exp(-2j * np.pi * freq * n / pcm.rate)
        tone_power += 2.0 * np.abs(frames @ phase) ** 2 / size**2
    total = _window_power(frames)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total > 0, tone_power / total, 0.0)
    return ratio, total, size


def tone_segments(
    pcm: Pcm,
    freq: float | Sequence[float],
    *,
    window: float = 0.05,
    min_duration: float = 0.1,
    min_ratio: float = 0.5,
    floor_dbfs: float = _TONE_FLOOR_DBFS,
) -> list[tuple[float, float]]:
    """(start, end) seconds where the tone dominates each ``window``.

    A window counts when it is louder than ``floor_dbfs`` and the power at
    ``freq`` (summed over all frequencies of a dual tone) is at least
    ``min_ratio`` of the window's total power. Segments shorter than
    ``min_duration`` are dropped; times are accurate to one window.
    """
    freqs = [freq] if isinstance(freq, int | float) else list(freq)
    ratio, total, size = _tone_ratio(pcm, freqs, window)
    on = (ratio >= min_ratio) & (total > 10.0 ** (floor_dbfs / 10.0))
    edges = np.diff(np.concatenate(([0], on.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    step = size / pcm.rate
    segments = [(float(s * step), float(e * step)) for s, e in zip(starts, ends, strict=True)]
    return [(s, e) for s, e in segments if e - s >= min_duration - 1e-9]


def detect_tones(
    pcm: Pcm,
    freqs: Iterable[float],
    *,
    window: float = 0.05,
    min_duration: float = 0.1,
    min_ratio: float = 0.5,
) -> dict[float, float]:
    """Seconds during which each frequency dominates (0.0 for absent ones)."""
    result: dict[float, float] = {}
    for freq in freqs:
        segments = tone_segments(pcm, freq, window=window, min_duration=min_duration, min_ratio=min_ratio)
        result[freq] = sum(end - start for start, end in segments)
    return result


def _window_levels(pcm: Pcm) -> npt.NDArray[np.float64]:
    frames, _ = _windows(pcm, _LEVEL_WINDOW)
    if len(frames) == 0 and len(pcm.samples):
        frames = pcm.samples.astype(np.float64)[np.newaxis, :]
    with np.errstate(divide="ignore"):
        levels: npt.NDArray[np.float64] = 10.0 * np.log10(_window_power(frames))
    return levels


def silence_ratio(pcm: Pcm, threshold_dbfs: float = -50.0) -> float:
    """Fraction of 20 ms windows quieter than ``threshold_dbfs`` (1.0 for no audio)."""
    levels = _window_levels(pcm)
    if len(levels) == 0:
        return 1.0
    return float(np.mean(levels < threshold_dbfs))


def rms_dbfs(pcm: Pcm) -> float:
    """RMS level of the whole signal; ``-inf`` for digital silence or no samples."""
    if len(pcm.samples) == 0:
        return -math.inf
    mean_square = float(np.mean(np.square(pcm.samples, dtype=np.float64)))
    return 10.0 * math.log10(mean_square) if mean_square > 0 else -math.inf


def first_sound_at(pcm: Pcm, threshold_dbfs: float = -40.0) -> float | None:
    """Start (seconds) of the first 20 ms window louder than ``threshold_dbfs``."""
    loud = np.flatnonzero(_window_levels(pcm) >= threshold_dbfs)
    if len(loud) == 0:
        return None
    return float(loud[0]) * max(1, round(_LEVEL_WINDOW * pcm.rate)) / pcm.rate


def tone(freq: float | Sequence[float], seconds: float, rate: int = 8000, amplitude: float = 0.5) -> Pcm:
    """A test tone; several frequencies share ``amplitude`` so the peak stays below it."""
    freqs = [freq] if isinstance(freq, int | float) else list(freq)
    t = np.arange(round(seconds * rate)) / rate
    signal = np.zeros(len(t))
    for f in freqs:
        signal += np.sin(2.0 * np.pi * f * t)
    samples: FloatArray = (signal * (amplitude / max(1, len(freqs)))).astype(np.float32)
    return Pcm(samples, rate)


def silence(seconds: float, rate: int = 8000) -> Pcm:
    """Digital silence."""
    return Pcm(np.zeros(round(seconds * rate), dtype=np.float32), rate)


def concat(*parts: Pcm) -> Pcm:
    """Parts played one after another; all must share one sample rate."""
    if not parts:
        raise ValueError("concat needs at least one part")
    rates = {part.rate for part in parts}
    if len(rates) != 1:
        raise ValueError(f"cannot concatenate different sample rates: {sorted(rates)}")
    return Pcm(np.concatenate([part.samples for part in parts]), parts[0].rate)
