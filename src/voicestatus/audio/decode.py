"""Turning uploaded or recorded bytes into :class:`Pcm`, refusing what is not usable audio.

Uploads are attacker-controlled, so decoding happens from memory (no temp file
names), FFmpeg may only pick one of the audio demuxers we expect (its playlist
and concat demuxers can open other files or URLs) and only audio decoders
(probing a video track would decode a picture of any size the file declares).

A few kilobytes can declare hours of 8-channel 384 kHz audio, so what a file
may cost is bounded before and while it is decoded, never after:

- refused on sight: more than ``_MAX_STREAMS`` streams, more than
  ``MAX_CHANNELS`` channels, a rate outside 1 to 384 kHz, a declared duration
  over the limit;
- while decoding: frames are mixed to mono and brought down to at most
  48 kHz a block at a time (:class:`~voicestatus.audio.frames.Collector`), so
  memory follows the length of the mono output; decoding stops as soon as
  the samples pass the length limit, or the samples times channels pass
  what the limit allows at 48 kHz in 7.1 (``_MAX_VALUES_PER_SECOND``), which
  bounds the CPU time a file can take.
"""

from __future__ import annotations

import bisect
import concurrent.futures
import functools
import io
import logging
import math
import wave
from collections.abc import Iterable, Iterator

import av
import av.error
import numpy as np

from voicestatus.audio.errors import AudioTooLong, EmptyAudio, UndecodableAudio
from voicestatus.audio.frames import MAX_CHANNELS, WORK_RATE, Collector, check_channels, check_rate
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
# Files with more streams than this are not recordings (a phone video has two).
_MAX_STREAMS = 16
# Decoded samples times channels allowed per second of the length limit: what
# 7.1 at 48 kHz needs. A 2-channel 192 kHz file fits; 8 channels at 384 kHz
# stop after an eighth of the limit.
_MAX_VALUES_PER_SECOND = WORK_RATE * MAX_CHANNELS
# Opus packets hold at least 2.5 ms, so a file within the limit has at most
# this many per second; more are refused before they pile up in memory.
_MAX_OPUS_PACKETS_PER_SECOND = 400


def read_wav(data: bytes, *, max_seconds: float | None = None) -> Pcm:
    """Fast path for the PCM WAV files Asterisk records (8 or 16 kHz slin).

    Unusual WAV flavours (float, WAVE_FORMAT_EXTENSIBLE, more than two
    channels, rates above 48 kHz) and anything that is not a WAV at all go
    through :func:`decode_audio` instead. The length is checked from the
    header before the samples are converted.
    """
    if not data:
        raise EmptyAudio("The recording is empty (0 bytes).")
    try:
        pcm = parse_pcm_wav(
            data, max_rate=WORK_RATE, check_seconds=lambda seconds: _check_length(seconds, max_seconds)
        )
    except (wave.Error, EOFError, ValueError):
        return decode_audio(data, max_seconds=max_seconds)
    if len(pcm) == 0:
        raise EmptyAudio("The recording contains no sound samples.")
    _check_length(pcm.duration, max_seconds)
    return pcm


def decode_audio(data: bytes, *, max_seconds: float | None = None) -> Pcm:
    """Decode any supported audio file from memory to mono float32 at its own rate, at most 48 kHz.

    Channels are averaged; higher rates are resampled to 48 kHz while decoding.
    Raises :class:`EmptyAudio`, :class:`UndecodableAudio` or :class:`AudioTooLong`;
    the length is checked against the container's declared duration first
    and then against the samples actually decoded.
    """
    if not data:
        raise EmptyAudio("The file is empty (0 bytes). Choose an audio file to upload.")
    limit = _HARD_LIMIT_SECONDS if max_seconds is None else max_seconds
    try:
        container = av.open(io.BytesIO(data), mode="r", options=_open_options())
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise _undecodable("not recognised as audio", exc) from None
    with container:
        if not container.streams.audio:
            raise UndecodableAudio(
                f"The file has no audio track. Supported formats: {SUPPORTED_FORMATS}.",
                details={"format": container.format.name},
            )
        _check_streams(container)
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
    try:
        if stream.codec_context.name == "opus":
            collector = _decode_opus(container, stream, limit, passes)
        else:
            collector = _collect(passes[0].frames(container.demux(stream)), limit)
        mono = None if collector is None else collector.finish()
    except (av.error.FFmpegError, ValueError) as exc:
        raise _undecodable("corrupt or unsupported audio", exc) from None
    bad_packets = sum(p.bad_packets for p in passes)
    if bad_packets > _MAX_BAD_PACKETS:
        raise _undecodable("corrupt audio data", None)
    if bad_packets:
        logger.info("skipped %d undecodable audio packets", bad_packets)
    return mono, 0 if collector is None else collector.rate


def _collect(frames: Iterable[av.AudioFrame], limit: float) -> Collector | None:
    """``frames`` gathered as mono; stops at the first frame past the length or the work limit."""
    collector: Collector | None = None
    max_samples = max_values = 0.0
    for frame in frames:
        if collector is None:
            collector = Collector(frame, limit + _LENGTH_SLACK_SECONDS)
            max_samples = (limit + _LENGTH_SLACK_SECONDS) * collector.source_rate
            max_values = (limit + _LENGTH_SLACK_SECONDS) * _MAX_VALUES_PER_SECOND
        collector.add(frame)
        _check_collected(collector, max_samples, max_values, limit)
    return collector


def _check_collected(collector: Collector, max_samples: float, max_values: float, limit: float) -> None:
    if collector.samples > max_samples:
        _too_long(limit, None)
    if collector.values > max_values:
        raise UndecodableAudio(
            f"The file holds more audio data than {_fmt(limit)} of sound needs "
            f"({collector.channels} channels at {collector.source_rate} Hz). "
            f"Save it as mono or stereo at {WORK_RATE // 1000} kHz or less and upload it again.",
            details={
                "reason": "too much audio data",
                "channels": collector.channels,
                "rate": collector.source_rate,
                "limit_seconds": limit,
            },
        )


def _check_streams(container: av.container.InputContainer) -> None:
    """Refuse, before decoding anything, a file whose header alone says it is not a recording."""
    if len(container.streams) > _MAX_STREAMS:
        raise UndecodableAudio(
            f"The file has more than {_MAX_STREAMS} streams; a recording has one audio stream. "
            f"Supported formats: {SUPPORTED_FORMATS}.",
            details={"reason": "too many streams", "max_streams": _MAX_STREAMS},
        )
    decoder: av.AudioCodecContext | None = container.streams.audio[0].codec_context
    if decoder is None:  # FFmpeg has no decoder for it (or it is not on the allowed list)
        raise _undecodable("unsupported audio codec", None)
    check_rate(decoder.sample_rate)
    check_channels(decoder.channels)


@functools.cache
def _open_options() -> dict[str, str]:
    """FFmpeg options for opening an upload: expected demuxers, audio decoders, few streams.

    ``max_streams`` makes demuxers stop creating streams (Matroska drops the
    rest silently), so one more than allowed is enough to tell.
    """
    decoders = set()
    for name in av.codecs_available:
        try:
            codec = av.Codec(name, "r")
        except (av.error.FFmpegError, ValueError):  # names of encoders only
            continue
        if codec.type == "audio":
            decoders.add(codec.name)
    return {
        "format_whitelist": _DEMUXER_WHITELIST,
        "codec_whitelist": ",".join(sorted(decoders)),
        "max_streams": str(_MAX_STREAMS + 1),
    }


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
) -> Collector | None:
    """Opus of more than a few seconds in two halves on two threads, about 40 % sooner.

    A decoder started mid-stream gives the same samples as one that ran from
    the start once it has decoded a few packets before (RFC 7845 asks for
    80 ms of pre-roll when seeking), so the second half's decoder starts
    ``_PREROLL_SECONDS`` early and drops that output. FFmpeg decodes without
    holding the GIL, so the halves run in parallel, for about a third more CPU
    time (handing the GIL back and forth). Each half is mixed to mono as it
    is decoded; the packets are held (compressed) to find the middle, no
    more of them than the length limit can hold.
    """
    max_pts = (limit + _LENGTH_SLACK_SECONDS) / stream.time_base if stream.time_base else math.inf
    max_packets = (limit + _LENGTH_SLACK_SECONDS) * _MAX_OPUS_PACKETS_PER_SECOND
    packets = []
    for packet in container.demux(stream):  # the timestamps bound the work before decoding
        if packet.pts is not None and packet.pts > max_pts:
            _too_long(limit, None)
        packets.append(packet)
        if len(packets) > max_packets:
            _too_long(limit, None)
    times = [packet.pts for packet in packets if packet.size]
    pts = [t for t in times if t is not None]
    if not stream.time_base or len(pts) < 2 or len(pts) < len(times) or pts != sorted(pts):
        return _collect(passes[0].frames(packets), limit)
    if (pts[-1] - pts[0]) * stream.time_base < _SPLIT_SECONDS:
        return _collect(passes[0].frames(packets), limit)
    middle = len(pts) // 2
    start = bisect.bisect_left(pts, pts[middle] - _PREROLL_SECONDS / stream.time_base, hi=middle)
    passes.append(_Pass(av.CodecContext.create("opus", "r")))
    passes[1].decoder.extradata = stream.codec_context.extradata
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        later = pool.submit(_collect, passes[1].frames(packets[start:], middle - start), limit)
        early = _collect(passes[0].frames(packets[:middle]), limit)
        rest = later.result()
    if early is None or rest is None:
        return early or rest
    early.extend(rest)
    _check_collected(
        early,
        (limit + _LENGTH_SLACK_SECONDS) * early.source_rate,
        (limit + _LENGTH_SLACK_SECONDS) * _MAX_VALUES_PER_SECOND,
        limit,
    )
    return early


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
