"""Writing and parsing the 16-bit mono PCM WAV that Asterisk plays and records.

The header is written by hand rather than with :mod:`wave` so that the same
samples always give the same bytes: the media store addresses files by the
sha256 of these bytes.
"""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from voicestatus.audio.pcm import Pcm

_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")
_MAX_DATA_BYTES = 0xFFFFFFFF - _HEADER.size


def to_int16(samples: npt.NDArray[np.generic]) -> npt.NDArray[np.int16]:
    """Float samples in [-1, 1] (clipped) or int16 samples as little-endian int16."""
    arr = np.asarray(samples)
    if arr.dtype == np.int16:
        return arr.astype("<i2", copy=False)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"expected float or int16 samples, got {arr.dtype}")
    scaled = np.clip(arr, -1.0, 1.0) * 32767.0
    return np.rint(scaled).astype("<i2")


def encode_wav(samples: npt.NDArray[np.generic], rate: int) -> bytes:
    """A canonical 44-byte-header 16-bit mono PCM WAV file.

    Float input is clipped to [-1, 1] and scaled by 32767 with rounding, so a
    decoded sample (``int16 / 32768``) never exceeds the float it came from.
    """
    arr = np.asarray(samples)
    if arr.ndim != 1:
        raise ValueError(f"encode_wav takes mono (1-D) samples, got shape {arr.shape}")
    if not 0 < rate <= 0x7FFFFFFF // 2:
        raise ValueError(f"invalid sample rate {rate}")
    data = to_int16(arr).tobytes()
    if len(data) > _MAX_DATA_BYTES:
        raise ValueError("audio too long for a WAV file")
    header = _HEADER.pack(
        b"RIFF",
        36 + len(data),
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        rate,
        rate * 2,
        2,
        16,
        b"data",
        len(data),
    )
    return header + data


def parse_pcm_wav(
    data: bytes, *, max_rate: int = 384_000, check_seconds: Callable[[float], None] | None = None
) -> Pcm:
    """Integer PCM WAV (8/16/24/32-bit, mono or stereo, up to ``max_rate``) mixed down to mono.

    Raises ``wave.Error`` or ``EOFError`` for anything else (float or
    extensible WAV, more channels, higher rates, other containers), so
    callers can fall back to FFmpeg, which decodes those a block at a time.
    ``check_seconds`` is given the length (what the header says, but no more
    than the bytes can hold) before any sample is converted, so it can refuse
    a file that is too long for less than the file's own size in memory.
    """
    with wave.open(io.BytesIO(data), "rb") as wav:
        channels = wav.getnchannels()
        width = wav.getsampwidth()
        rate = wav.getframerate()
        if not 1 <= channels <= 2 or not 1000 <= rate <= max_rate:
            raise wave.Error(f"bad WAV header: {channels} channels at {rate} Hz")
        frames = min(wav.getnframes(), len(data) // (width * channels or 1))
        if check_seconds is not None:
            check_seconds(frames / rate)
        raw = wav.readframes(frames)
    usable = len(raw) - len(raw) % (width * channels)
    raw = raw[:usable]
    if width == 1:
        ints = np.frombuffer(raw, dtype=np.uint8).astype(np.float32)
        samples = (ints - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32)
        samples *= np.float32(1.0 / 32768.0)  # a power of two: the same as dividing, without a copy
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints24 = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8
        samples = ints24.astype(np.float32) / 8388608.0
    elif width == 4:
        samples = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    else:
        raise wave.Error(f"unsupported sample width {width}")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return Pcm(samples.astype(np.float32, copy=False), rate)
