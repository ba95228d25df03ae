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

import av
import av.error
import numpy as np

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
        chunks, rate = _decode_stream(container, limit)
    if not chunks:
        raise EmptyAudio("The file contains no sound samples.")
    samples: FloatArray = np.concatenate(chunks)
    np.clip(samples, -1.0, 1.0, out=samples)
    return Pcm(samples, rate)


def _decode_stream(container: av.container.InputContainer, limit: float) -> tuple[list[FloatArray], int]:
    stream = container.streams.audio[0]
    resampler = av.AudioResampler(format="fltp")
    chunks: list[FloatArray] = []
    rate = 0
    total = 0
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
                if rate == 0:
                    rate = _check_rate(frame.sample_rate)
                for out in resampler.resample(frame):
                    planes = out.to_ndarray()
                    mono = planes[0] if planes.shape[0] == 1 else planes.mean(axis=0)
                    chunks.append(np.asarray(mono, dtype=np.float32))
                    total += len(mono)
                    if total > (limit + _LENGTH_SLACK_SECONDS) * rate:
                        _too_long(limit, None)
    except (av.error.FFmpegError, ValueError) as exc:
        raise _undecodable("corrupt or unsupported audio", exc) from None
    if bad_packets:
        logger.info("skipped %d undecodable audio packets", bad_packets)
    return chunks, rate


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
