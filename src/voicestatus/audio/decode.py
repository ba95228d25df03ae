"""Turning uploaded or recorded bytes into :class:`Pcm`, refusing what is not usable audio.

Uploads are attacker-controlled, so decoding happens from memory (no temp file
names), FFmpeg may only pick one of the audio demuxers we expect (its playlist
and concat demuxers can open other files or URLs), and the length limit is
enforced while decoding so a small file that expands to hours of audio costs
no more than the limit allows.
"""

from __future__ import annotations

import io
import logging
import wave
from typing import Any

import av
import av.error
import numpy as np
import numpy.typing as npt

from voicestatus.audio.errors import AudioTooLong, EmptyAudio, UndecodableAudio
from voicestatus.audio.pcm import FloatArray, Pcm
from voicestatus.audio.wav import parse_pcm_wav

logger = logging.getLogger(__name__)

SUPPORTED_FORMATS = "WAV, MP3, Ogg (Opus/Vorbis), WebM (Opus), M4A (AAC), FLAC"
# FFmpeg demuxer names; a demuxer named "mov,mp4,m4a,3gp,3g2,mj2" matches "mov".
_DEMUXER_WHITELIST = "wav,w64,mp3,ogg,matroska,webm,mov,aac,flac,aiff"
_HARD_LIMIT_SECONDS = 20 * 60.0  # applies when the caller sets no limit
_LENGTH_SLACK_SECONDS = 0.25  # encoder padding must not turn 60.0 s into "too long"
_MAX_BAD_PACKETS = 8
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


def read_wav(data: bytes, *, max_seconds: float | None = None) -> Pcm:
    """Fast path for the PCM WAV files Asterisk records (8 or 16 kHz slin).

    Unusual WAV flavours (float, WAVE_FORMAT_EXTENSIBLE) and anything that is
    not a WAV at all go through :func:`decode_audio` instead.
    """
    if not data:
        raise EmptyAudio("The recording is empty (0 bytes).")
    try:
        pcm = parse_pcm_wav(data)
    except (wave.Error, EOFError, ValueError):
        return decode_audio(data, max_seconds=max_seconds)
    if len(pcm) == 0:
        raise EmptyAudio("The recording contains no sound samples.")
    _check_length(pcm.duration, max_seconds)
    return pcm


def decode_audio(data: bytes, *, max_seconds: float | None = None) -> Pcm:
    """Decode any supported audio file from memory to mono float32 at its own rate.

    Channels are averaged. Raises :class:`EmptyAudio`, :class:`UndecodableAudio`
    or :class:`AudioTooLong`; the length is checked against the container's
    declared duration first and then against the samples actually decoded.
    """
    if not data:
        raise EmptyAudio("The file is empty (0 bytes). Choose an audio file to upload.")
    limit = _HARD_LIMIT_SECONDS if max_seconds is None else max_seconds
    try:
        container = av.open(io.BytesIO(data), mode="r", options={"format_whitelist": _DEMUXER_WHITELIST})
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise _undecodable("not recognised as audio", exc) from None
    with container:
        if not container.streams.audio:
            raise UndecodableAudio(
                f"The file has no audio track. Supported formats: {SUPPORTED_FORMATS}.",
                details={"format": container.format.name},
            )
        _check_rate(container.streams.audio[0].rate)
        declared = container.duration / 1_000_000 if container.duration else None
        if declared is not None:
            _check_length(declared, limit)
        samples, rate = _decode_stream(container, limit)
    if samples is None or len(samples) == 0:
        raise EmptyAudio("The file contains no sound samples.")
    samples = samples.copy() if not samples.flags.writeable else samples
    np.clip(samples, -1.0, 1.0, out=samples)
    return Pcm(samples, rate)


def _decode_stream(container: av.container.InputContainer, limit: float) -> tuple[FloatArray | None, int]:
    """All samples of the first audio stream as mono float32, and their rate."""
    stream = container.streams.audio[0]
    collector: _Collector | None = None
    max_samples = 0.0
    bad_packets = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError as exc:
                # A glitch in one packet (common in mp3s from the wild) loses a few
                # milliseconds; a stream of them means the file is not audio.
                bad_packets += 1
                if bad_packets > _MAX_BAD_PACKETS:
                    raise _undecodable("corrupt audio data", exc) from None
                continue
            for frame in frames:
                if collector is None:
                    collector = _Collector(frame)
                    max_samples = (limit + _LENGTH_SLACK_SECONDS) * collector.rate
                collector.add(frame)
                if collector.fifo.samples > max_samples:
                    _too_long(limit, None)
        if collector is None:
            return None, 0
        mono = collector.finish()
    except (av.error.FFmpegError, ValueError) as exc:
        raise _undecodable("corrupt or unsupported audio", exc) from None
    if bad_packets:
        logger.info("skipped %d undecodable audio packets", bad_packets)
    return mono, collector.rate


class _Collector:
    """Decoded frames gathered in FFmpeg's sample FIFO, converted once at the end.

    Converting each frame in Python would cost more than decoding it (a
    minute of Opus is 3,000 frames). The FIFO holds one format, channel count
    and rate, those of the first frame; frames that differ (MP3s may change
    rate or channels mid-file) are converted to that by FFmpeg, flushed before
    the next frame of another shape so the samples stay in order.
    """

    def __init__(self, first: av.AudioFrame) -> None:
        self.rate = _check_rate(first.sample_rate)
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
            _check_rate(frame.sample_rate)
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


def _check_rate(rate: int | None) -> int:
    if rate is None or not _MIN_RATE <= rate <= _MAX_RATE:
        raise UndecodableAudio(
            f"Unsupported sample rate {rate} Hz (supported: {_MIN_RATE} to {_MAX_RATE} Hz).",
            details={"rate": rate},
        )
    return int(rate)


def _check_length(seconds: float, limit: float | None) -> None:
    if limit is not None and seconds > limit + _LENGTH_SLACK_SECONDS:
        _too_long(limit, seconds)


def _too_long(limit: float, seconds: float | None) -> None:
    details: dict[str, object] = {"limit_seconds": limit}
    if seconds is None:
        message = f"The audio is longer than the limit of {_fmt(limit)}. Shorten it and try again."
    else:
        details["duration_seconds"] = round(seconds, 2)
        message = f"The audio is {_fmt(seconds)} long; the limit is {_fmt(limit)}. Shorten it and try again."
    raise AudioTooLong(message, details=details)


def _undecodable(what: str, exc: BaseException) -> UndecodableAudio:
    logger.debug("audio decoding failed: %r", exc)
    return UndecodableAudio(
        f"The file could not be read as audio ({what}). Supported formats: {SUPPORTED_FORMATS}.",
        details={"reason": what},
    )


def _fmt(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d} ({seconds:.1f} s)"
