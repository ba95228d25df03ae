"""Turning uploaded or recorded bytes into :class:`Pcm`, refusing what is not usable audio.

Uploads are attacker-controlled, so decoding happens from memory (no temp file
names), FFmpeg may only pick one of the audio demuxers we expect (its playlist
and concat demuxers can open other files or URLs), and the length limit is
enforced while decoding so a small file that expands to hours of audio costs
no more than the limit allows.
"""

from __future__ import annotations

import bisect
import concurrent.futures
import io
import logging
import math
import wave
from collections.abc import Iterable, Iterator

import av
import av.error
import numpy as np

from voicestatus.audio.errors import AudioTooLong, EmptyAudio, UndecodableAudio
from voicestatus.audio.frames import Collector, check_rate
from voicestatus.audio.pcm import FloatArray, Pcm
from voicestatus.audio.wav import parse_pcm_wav

logger = logging.getLogger(__name__)

SUPPORTED_FORMATS = "WAV, MP3, Ogg (Opus/Vorbis), WebM (Opus), M4A (AAC), FLAC"
# FFmpeg demuxer names; a demuxer named "mov,mp4,m4a,3gp,3g2,mj2" matches "mov".
_DEMUXER_WHITELIST = "wav,w64,mp3,ogg,matroska,webm,mov,aac,flac,aiff"
_HARD_LIMIT_SECONDS = 20 * 60.0  # applies when the caller sets no limit
_LENGTH_SLACK_SECONDS = 0.25  # encoder padding must not turn 60.0 s into "too long"
_MAX_BAD_PACKETS = 8
_SPLIT_SECONDS = 6.0  # shorter Opus is decoded in one pass
_PREROLL_SECONDS = 0.5


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
        check_rate(container.streams.audio[0].rate)
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
    passes = [_Pass(stream.codec_context)]
    collector: Collector | None = None
    max_samples = 0.0
    try:
        if stream.codec_context.name == "opus":
            frames = _decode_opus(container, stream, limit, passes)
        else:
            frames = passes[0].frames(container.demux(stream))
        for frame in frames:
            if collector is None:
                collector = Collector(frame)
                max_samples = (limit + _LENGTH_SLACK_SECONDS) * collector.rate
            collector.add(frame)
            if collector.fifo.samples > max_samples:
                _too_long(limit, None)
        mono = None if collector is None else collector.finish()
    except (av.error.FFmpegError, ValueError) as exc:
        raise _undecodable("corrupt or unsupported audio", exc) from None
    bad_packets = sum(p.bad_packets for p in passes)
    if bad_packets > _MAX_BAD_PACKETS:
        raise _undecodable("corrupt audio data", None)
    if bad_packets:
        logger.info("skipped %d undecodable audio packets", bad_packets)
    return mono, 0 if collector is None else collector.rate


class _Pass:
    """One decoder's frames from a run of packets, skipping a few corrupt ones."""

    def __init__(self, decoder: av.AudioCodecContext) -> None:
        self.decoder = decoder
        self.bad_packets = 0

    def frames(
        self, packets: Iterable[av.Packet[av.AudioStream]], warm_up: int = 0
    ) -> Iterator[av.AudioFrame]:
        """Frames of ``packets``; those of the first ``warm_up`` packets only prime the decoder."""
        for index, packet in enumerate(packets):
            try:
                frames = self.decoder.decode(packet)
            except av.error.InvalidDataError as exc:
                # A glitch in one packet (common in mp3s from the wild) loses a few
                # milliseconds; a stream of them means the file is not audio.
                self.bad_packets += 1
                if self.bad_packets > _MAX_BAD_PACKETS:
                    raise _undecodable("corrupt audio data", exc) from None
                continue
            if index >= warm_up:
                yield from frames


def _decode_opus(
    container: av.container.InputContainer, stream: av.AudioStream, limit: float, passes: list[_Pass]
) -> Iterable[av.AudioFrame]:
    """Opus of more than a few seconds in two halves on two threads, about 40 % sooner.

    A decoder started mid-stream gives the same samples as one that ran from
    the start once it has decoded a few packets before (RFC 7845 asks for
    80 ms of pre-roll when seeking), so the second half's decoder starts
    ``_PREROLL_SECONDS`` early and drops that output. FFmpeg decodes without
    holding the GIL, so the halves run in parallel, for about a third more CPU
    time (handing the GIL back and forth).
    """
    max_pts = (limit + _LENGTH_SLACK_SECONDS) / stream.time_base if stream.time_base else math.inf
    packets = []
    for packet in container.demux(stream):  # the timestamps bound the work before decoding
        if packet.pts is not None and packet.pts > max_pts:
            _too_long(limit, None)
        packets.append(packet)
    times = [packet.pts for packet in packets if packet.size]
    pts = [t for t in times if t is not None]
    if not stream.time_base or len(pts) < 2 or len(pts) < len(times) or pts != sorted(pts):
        return passes[0].frames(packets)
    if (pts[-1] - pts[0]) * stream.time_base < _SPLIT_SECONDS:
        return passes[0].frames(packets)
    middle = len(pts) // 2
    start = bisect.bisect_left(pts, pts[middle] - _PREROLL_SECONDS / stream.time_base, hi=middle)
    passes.append(_Pass(av.CodecContext.create("opus", "r")))
    passes[1].decoder.extradata = stream.codec_context.extradata
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        later = pool.submit(lambda: list(passes[1].frames(packets[start:], middle - start)))
        early = list(passes[0].frames(packets[:middle]))
        return [*early, *later.result()]


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


def _undecodable(what: str, exc: BaseException | None) -> UndecodableAudio:
    logger.debug("audio decoding failed: %r", exc)
    return UndecodableAudio(
        f"The file could not be read as audio ({what}). Supported formats: {SUPPORTED_FORMATS}.",
        details={"reason": what},
    )


def _fmt(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d} ({seconds:.1f} s)"
