"""Decoder bombs: small files that declare huge audio must cost memory by their output, not their header.

Each bomb is built here, in memory, the way an attacker would: FFmpeg's own
encoders for silence (which compresses to almost nothing), or a WAV header
written by hand. Memory is measured where it is spent: numpy allocations with
tracemalloc in this process, FFmpeg's own allocations as the peak RSS of a
fresh subprocess. The bounds asserted are several times what the decoder
needs, and a fraction of what it needed before it mixed and resampled while
decoding, so they do not depend on the machine.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import tracemalloc
import wave
from collections.abc import Callable
from pathlib import Path

import av
import av.audio.stream
import numpy as np
import pytest

from bomb_support import flac_8ch_384k, silence, wav_header
from voicestatus.audio import AudioTooLong, Pcm, UndecodableAudio, decode_audio, read_wav
from voicestatus_dev.analysis import tone


def test_eight_channels_at_384k_stop_decoding_at_the_work_limit() -> None:
    """2 s of 7.1 at 384 kHz is 6 million values: more than 5 s of sound needs at 48 kHz (2 million)."""
    bomb = flac_8ch_384k(2.0)
    assert len(bomb) < 20_000

    with pytest.raises(UndecodableAudio) as caught:
        decode_audio(bomb, max_seconds=5)

    assert caught.value.details["reason"] == "too much audio data"
    assert caught.value.details["channels"] == 8
    assert caught.value.details["rate"] == 384_000
    assert "mono or stereo" in caught.value.message


def test_rates_above_48k_are_resampled_while_decoding() -> None:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(96_000)
        ints = (tone(1000, 1.0, rate=96_000, amplitude=0.5).samples * 32767).astype(np.int16)
        out.writeframes(np.repeat(ints, 2).tobytes())

    for pcm in (decode_audio(buf.getvalue()), read_wav(buf.getvalue())):
        assert pcm.rate == 48_000
        assert pcm.duration == pytest.approx(1.0, abs=0.01)
        spectrum = np.abs(np.fft.rfft(pcm.samples * np.hanning(len(pcm.samples))))
        assert np.argmax(spectrum) * pcm.rate / len(pcm.samples) == pytest.approx(1000, abs=2)
        assert float(np.max(np.abs(pcm.samples[4800:-4800]))) == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("reader", [decode_audio, read_wav])
def test_more_than_eight_channels_are_refused_before_decoding(reader: Callable[[bytes], Pcm]) -> None:
    data = wav_header(16, 8000, 2, 16 * 2 * 8000) + bytes(16 * 2 * 8000)

    with pytest.raises(UndecodableAudio) as caught:
        reader(data)

    assert caught.value.details["reason"] == "too many channels"
    assert caught.value.details["channels"] == 16
    assert "at most 8" in caught.value.message


def test_a_file_of_many_streams_is_refused() -> None:
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as container:
        streams = [container.add_stream("flac", rate=8000, layout="mono") for _ in range(40)]
        for stream in streams:
            assert isinstance(stream, av.audio.stream.AudioStream)
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.int16), format="s16", layout="mono")
            frame.sample_rate = 8000
            frame.pts = 0
            for packet in [*stream.encode(frame), *stream.encode(None)]:
                container.mux(packet)

    with pytest.raises(UndecodableAudio) as caught:
        decode_audio(buf.getvalue())

    assert caught.value.details["reason"] == "too many streams"


def test_wav_header_claiming_gigabytes_decodes_what_is_there() -> None:
    """RIFF and data sizes of 4 GB over one second of 7.1 at 384 kHz: what is there, at 48 kHz."""
    real = 8 * 2 * 384_000
    data = wav_header(8, 384_000, 2, 0xFFFFFFFF) + bytes(real)

    pcm = decode_audio(data, max_seconds=300)

    assert pcm.rate == 48_000
    assert pcm.duration == pytest.approx(1.0, abs=0.01)


def test_long_wav_is_refused_from_its_header_before_its_samples_are_converted() -> None:
    """20 MB of 8-bit mono at 1 kHz is 5.8 hours: refused without allocating its 80 MB of floats."""
    size = 20 * 1024 * 1024
    data = wav_header(1, 1000, 1, size) + bytes([128]) * size

    tracemalloc.start()
    try:
        with pytest.raises(AudioTooLong):
            read_wav(data, max_seconds=300)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 2 * 1024 * 1024, f"{peak / 2**20:.1f} MB allocated to refuse it"


_MEASURE = r"""
import json, resource, sys
from voicestatus.audio.decode import decode_audio
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
pcm = decode_audio(data, max_seconds=300)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"growth_mb": (after - before) / 1024, "rate": pcm.rate, "seconds": pcm.duration}))
"""


def peak_growth(tmp_path: Path, data: bytes) -> dict[str, float]:
    """Decode ``data`` in a fresh interpreter; its peak RSS growth (MB), rate and length."""
    path = tmp_path / "bomb"
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("build", "seconds", "bound_mb"),
    [
        # 7.1 at 384 kHz, 25 s: 77 M values (samples x channels) in 18 KB of FLAC; 5 MB of output
        pytest.param(lambda: flac_8ch_384k(25.0), 25.0, 100, id="flac-8ch-384k"),
        # 7.1 Opus without a duration, 100 s: 38 M values in 130 KB of WebM; 19 MB of output
        pytest.param(
            lambda: silence("webm", "libopus", 48_000, "7.1", 100.0, live="1"), 100.0, 150, id="webm-opus-8ch"
        ),
    ],
)
def test_memory_follows_the_mono_output_not_the_channels_or_rate(
    tmp_path: Path, build: Callable[[], bytes], seconds: float, bound_mb: float
) -> None:
    measured = peak_growth(tmp_path, build())

    assert measured["rate"] == 48_000
    assert measured["seconds"] == pytest.approx(seconds, abs=0.1)
    assert measured["growth_mb"] < bound_mb, measured


@pytest.mark.parametrize("format_tag", [0, 0x1234])
def test_a_codec_ffmpeg_cannot_decode_is_undecodable_not_a_crash(format_tag: int) -> None:
    data = bytearray(wav_header(1, 8000, 2, 16000) + bytes(16000))
    data[20:22] = struct.pack("<H", format_tag)

    with pytest.raises(UndecodableAudio) as caught:
        read_wav(bytes(data))

    assert caught.value.details["reason"] == "unsupported audio codec"
