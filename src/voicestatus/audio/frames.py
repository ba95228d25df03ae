"""Decoded audio frames, in whatever format and layout a decoder produced, as mono float32.

Python touches each decoded frame only to queue it: a minute of Opus is 3,000
frames, and converting them one by one would cost more than decoding them.
FFmpeg's sample FIFO gathers them and the conversion (mixing channels,
scaling integers) happens once, with numpy, over the whole block.
"""

from __future__ import annotations

from typing import Any

import av
import numpy as np
import numpy.typing as npt

from voicestatus.audio.errors import UndecodableAudio
from voicestatus.audio.pcm import FloatArray

_MIN_RATE, _MAX_RATE = 1000, 384_000
# Sample formats read directly from decoded frames: numpy type and full scale.
_SAMPLE_TYPES: dict[str, tuple[np.dtype[Any], float]] = {
    name + planar: (np.dtype(kind), scale)
    for name, kind, scale in (
        ("flt", np.float32, 1.0),
        ("dbl", np.float64, 1.0),
        ("s16", np.int16, 32768.0),
        ("s32", np.int32, 2147483648.0),
    )
    for planar in ("", "p")
}


class Collector:
    """Decoded frames gathered in FFmpeg's sample FIFO, converted once at the end.

    Converting each frame in Python would cost more than decoding it (a
    minute of Opus is 3,000 frames). The FIFO holds one format, channel count
    and rate, those of the first frame; frames that differ (MP3s may change
    rate or channels mid-file) are converted to that by FFmpeg, flushed before
    the next frame of another shape so the samples stay in order.
    """

    def __init__(self, first: av.AudioFrame) -> None:
        self.rate = check_rate(first.sample_rate)
        self.fifo = av.AudioFifo()
        self._first = _shape(first)
        self._layout = first.layout
        self._time_base = first.time_base
        self._converting: tuple[tuple[int, int, str], av.AudioResampler] | None = None

    def add(self, frame: av.AudioFrame) -> None:
        frame.pts = None  # the FIFO would insist on gapless timestamps
        shape = _shape(frame)
        if self._converting is not None and self._converting[0] != shape:
            self._flush()
        if shape == self._first:
            self.fifo.write(frame)
            return
        if self._converting is None:
            check_rate(frame.sample_rate)
            resampler = av.AudioResampler(format=self._first[2], layout=self._layout, rate=self.rate)
            self._converting = (shape, resampler)
        self._write(self._converting[1].resample(frame))

    def _flush(self) -> None:
        if self._converting is not None:
            self._write(self._converting[1].resample(None))
            self._converting = None

    def _write(self, frames: list[av.AudioFrame]) -> None:
        for out in frames:
            out.pts = None
            out.time_base = self._time_base
            self.fifo.write(out)

    def finish(self) -> FloatArray | None:
        """Everything collected, as mono float32 (None if there was nothing)."""
        self._flush()
        block = self.fifo.read() if self.fifo.samples else None
        if block is None:
            return None
        mono = _to_mono(block)
        if mono is None:  # unsigned 8-bit or 64-bit integers: FFmpeg converts
            converter = av.AudioResampler(format="fltp")
            parts = [_to_mono(f) for f in [*converter.resample(block), *converter.resample(None)]]
            mono = np.concatenate([part for part in parts if part is not None] or [np.zeros(0, np.float32)])
        return mono


def _shape(frame: av.AudioFrame) -> tuple[int, int, str]:
    return frame.sample_rate, frame.layout.nb_channels, frame.format.name


def _to_mono(frame: av.AudioFrame) -> FloatArray | None:
    """The frame's samples as mono float32, straight from its buffers (no per-frame resampler).

    None for sample formats decoders rarely produce (unsigned 8-bit, 64-bit
    integers); those go through FFmpeg's resampler instead.
    """
    kind = _SAMPLE_TYPES.get(frame.format.name)
    if kind is None:
        return None
    dtype, full_scale = kind
    count, channels = frame.samples, frame.layout.nb_channels
    mixed: npt.NDArray[Any]
    if frame.format.is_planar:
        planes = [np.frombuffer(memoryview(plane), dtype, count) for plane in frame.planes[:channels]]
        mixed = planes[0] if channels == 1 else np.stack(planes).mean(axis=0, dtype=np.float64)
    else:
        packed = np.frombuffer(memoryview(frame.planes[0]), dtype, count * channels)
        mixed = packed if channels == 1 else packed.reshape(count, channels).mean(axis=1, dtype=np.float64)
    if full_scale != 1.0:
        mixed = mixed * (1.0 / full_scale)
    out: FloatArray = mixed.astype(np.float32, copy=False)
    return out


def check_rate(rate: int | None) -> int:
    """``rate`` if FFmpeg can be trusted with it; :class:`UndecodableAudio` otherwise."""
    if rate is None or not _MIN_RATE <= rate <= _MAX_RATE:
        raise UndecodableAudio(
            f"Unsupported sample rate {rate} Hz (supported: {_MIN_RATE} to {_MAX_RATE} Hz).",
            details={"rate": rate},
        )
    return int(rate)
