"""Decoded audio frames, in whatever format and layout a decoder produced, as mono float32.

Python touches each decoded frame only to queue it: a minute of Opus is 3,000
frames, and converting them one by one would cost more than decoding them.
FFmpeg's sample FIFO gathers them and the conversion (mixing channels,
scaling integers, bringing rates above 48 kHz down) happens with numpy and
soxr over blocks of a few seconds, while decoding goes on. Only the mono
output is kept, so what a file costs in memory follows how long it is, not
how many channels or how high a sample rate its header claims: an 8-channel
384 kHz file holds 64 times the samples of the same length of 48 kHz mono.
"""

from __future__ import annotations

import math
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import soxr

from voicestatus.audio.errors import UndecodableAudio
from voicestatus.audio.pcm import FloatArray

_MIN_RATE, _MAX_RATE = 1000, 384_000
# The highest rate decoded audio keeps. Messages are played at 8 and 16 kHz,
# so nothing above 48 kHz is worth holding in memory.
WORK_RATE = 48_000
MAX_CHANNELS = 8  # 7.1; a voice message needs one
# A block is converted once the FIFO holds this many values (samples x channels):
# about 5 s of 48 kHz mono, 1 MB of float32; large enough that numpy, not
# Python, does the work, small enough that an 8-channel file stays cheap.
_BLOCK_VALUES = 1 << 18
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
    """Decoded frames gathered in FFmpeg's sample FIFO, converted to mono a block at a time.

    Converting each frame in Python would cost more than decoding it (a
    minute of Opus is 3,000 frames), so frames are queued in the FIFO and
    converted once it holds a block. The FIFO holds one format, channel count
    and rate, those of the first frame; frames that differ (MP3s may change
    rate or channels mid-file) are converted to that by FFmpeg, flushed before
    the next frame of another shape so the samples stay in order.

    ``samples`` counts samples queued (at ``source_rate``) and ``values``
    samples times channels as decoded, so the caller can stop a file that
    decodes to more than it allows before it is all decoded; ``max_seconds``
    is that limit, for which the output reserves room.
    """

    def __init__(self, first: av.AudioFrame, max_seconds: float) -> None:
        self.source_rate = check_rate(first.sample_rate)
        self.rate = min(self.source_rate, WORK_RATE)
        self.channels = check_channels(first.layout.nb_channels)
        self.fifo = av.AudioFifo()
        self.samples = 0
        self.values = 0
        self._first = _shape(first)
        self._layout = first.layout
        self._time_base = first.time_base
        self._converting: tuple[tuple[int, int, str], av.AudioResampler] | None = None
        self._pending = 0
        self._block = max(1024, _BLOCK_VALUES // self.channels)
        self._out = _Output(math.ceil(max_seconds * self.rate) + self._block)
        self._resampler = (
            soxr.ResampleStream(self.source_rate, self.rate, 1, dtype="float32", quality="HQ")
            if self.rate != self.source_rate
            else None
        )

    def add(self, frame: av.AudioFrame) -> None:
        channels = check_channels(frame.layout.nb_channels)
        self.values += frame.samples * channels
        frame.pts = None  # the FIFO would insist on gapless timestamps
        shape = _shape(frame)
        if self._converting is not None and self._converting[0] != shape:
            self._flush()
        if shape == self._first:
            self._queue(frame)
            return
        if self._converting is None:
            check_rate(frame.sample_rate)
            resampler = av.AudioResampler(format=self._first[2], layout=self._layout, rate=self.source_rate)
            self._converting = (shape, resampler)
        self._write(self._converting[1].resample(frame))

    def _queue(self, frame: av.AudioFrame) -> None:
        self.fifo.write(frame)
        self.samples += frame.samples
        self._pending += frame.samples
        if self._pending >= self._block:
            self._convert()

    def _flush(self) -> None:
        if self._converting is not None:
            self._write(self._converting[1].resample(None))
            self._converting = None

    def _write(self, frames: list[av.AudioFrame]) -> None:
        for out in frames:
            out.pts = None
            out.time_base = self._time_base
            self._queue(out)

    def _convert(self) -> None:
        """The FIFO's block, mixed to mono (and brought to ``rate``), appended to the output."""
        self._pending = 0
        block = self.fifo.read() if self.fifo.samples else None
        if block is None:
            return
        mono = _to_mono(block)
        if mono is None:  # unsigned 8-bit or 64-bit integers: FFmpeg converts
            converter = av.AudioResampler(format="fltp")
            parts = [_to_mono(f) for f in [*converter.resample(block), *converter.resample(None)]]
            mono = np.concatenate([part for part in parts if part is not None] or [np.zeros(0, np.float32)])
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono)
        self._out.append(mono)

    def finish(self) -> FloatArray | None:
        """Everything collected, as mono float32 at ``rate`` (None if there was nothing)."""
        self._complete()
        return self._out.finish() if self.samples else None

    def extend(self, later: Collector) -> None:
        """Append what ``later`` collected (the rest of the same stream, decoded separately)."""
        self._complete()
        later._complete()
        self._out.append(later._out.view())
        self.samples += later.samples
        self.values += later.values

    def _complete(self) -> None:
        """Convert what is still queued, and what the resampler still holds."""
        self._flush()
        self._convert()
        if self._resampler is not None:
            self._out.append(self._resampler.resample_chunk(np.zeros(0, np.float32), last=True))
            self._resampler = None


class _Output:
    """The mono output, written into one array reserved for the longest output allowed.

    The reserve costs address space, not memory: pages are only backed once
    written, so a short file uses what it fills. Collecting blocks and
    joining them at the end would need twice the output (the C library keeps
    freed blocks for reuse rather than returning them at once).
    """

    def __init__(self, capacity: int) -> None:
        self._array: FloatArray = np.empty(max(capacity, 1), np.float32)
        self._size = 0

    def append(self, block: FloatArray) -> None:
        end = self._size + len(block)
        if end > len(self._array):  # past the reserve: the caller is about to refuse the file
            grown: FloatArray = np.empty(max(end, 2 * len(self._array)), np.float32)
            grown[: self._size] = self._array[: self._size]
            self._array = grown
        self._array[self._size : end] = block
        self._size = end

    def view(self) -> FloatArray:
        return self._array[: self._size]

    def finish(self) -> FloatArray:
        """The output as an array of its own: shrunk in place, which hands the unused reserve back."""
        self._array.resize(self._size, refcheck=False)
        return self._array


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


def check_channels(channels: int | None) -> int:
    """``channels`` if there are at most :data:`MAX_CHANNELS`; :class:`UndecodableAudio` otherwise.

    Every channel multiplies the work of decoding, and a status message is
    one voice: more than 7.1 is a crafted file, not a recording.
    """
    if channels is None or not 1 <= channels <= MAX_CHANNELS:
        raise UndecodableAudio(
            f"The audio has {channels} channels; at most {MAX_CHANNELS} are supported. "
            "Save it as mono or stereo and upload it again.",
            details={"reason": "too many channels", "channels": channels, "max_channels": MAX_CHANNELS},
        )
    return int(channels)
