"""Decoding uploads and phone recordings: every supported format, and every way bytes can be bad."""

from __future__ import annotations

import io
import struct
import time
import wave
from collections.abc import Callable

import av
import av.audio.stream
import numpy as np
import pytest

from voicestatus.audio import (
    AudioRejected,
    AudioTooLong,
    EmptyAudio,
    Pcm,
    UndecodableAudio,
    decode_audio,
    encode_wav,
    read_wav,
)
from voicestatus_dev.analysis import rms_dbfs, tone


def encode(pcm: Pcm, fmt: str, codec: str, *, channels: int = 1) -> bytes:
    """``pcm`` encoded in memory by FFmpeg, as a browser or phone app would upload it."""
    ints = (pcm.samples * 32767).astype(np.int16)
    layout = "mono" if channels == 1 else "stereo"
    interleaved = np.repeat(ints, channels)[np.newaxis, :]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=pcm.rate, layout=layout)
        assert isinstance(stream, av.audio.stream.AudioStream)
        frame = av.AudioFrame.from_ndarray(interleaved, format="s16", layout=layout)
        frame.sample_rate = pcm.rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def dominant_frequency(pcm: Pcm) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.samples * np.hanning(len(pcm.samples))))
    return float(np.argmax(spectrum) * pcm.rate / len(pcm.samples))


def stdlib_wav(samples: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buf.getvalue()


UPLOAD_FORMATS = [
    pytest.param("mp3", "libmp3lame", 44100, id="mp3"),
    pytest.param("ogg", "libopus", 48000, id="ogg-opus"),
    pytest.param("webm", "libopus", 48000, id="webm-opus"),
    pytest.param("ipod", "aac", 44100, id="m4a-aac"),
    pytest.param("wav", "pcm_s16le", 8000, id="wav-8k"),
    pytest.param("wav", "pcm_s16le", 16000, id="wav-16k"),
    pytest.param("flac", "flac", 22050, id="flac"),
]


@pytest.mark.parametrize(("fmt", "codec", "rate"), UPLOAD_FORMATS)
def test_each_upload_format_decodes_to_the_same_tone(fmt: str, codec: str, rate: int) -> None:
    data = encode(tone(1000, 2.0, rate=rate, amplitude=0.5), fmt, codec)

    pcm = decode_audio(data, max_seconds=10)

    assert pcm.rate == rate
    assert pcm.duration == pytest.approx(2.0, abs=0.06)
    assert dominant_frequency(pcm) == pytest.approx(1000, abs=5)
    assert pcm.samples.dtype == np.float32
    assert float(np.max(np.abs(pcm.samples))) == pytest.approx(0.5, abs=0.1)


def test_stereo_upload_is_mixed_to_mono() -> None:
    pcm = decode_audio(encode(tone(440, 1.0, rate=44100), "mp3", "libmp3lame", channels=2))

    assert pcm.samples.ndim == 1
    assert dominant_frequency(pcm) == pytest.approx(440, abs=5)


def test_channels_are_averaged_not_summed() -> None:
    left = (tone(1000, 1.0).samples * 32767).astype(np.int16)
    opposite = np.stack([left, -left], axis=1).reshape(-1)
    data = stdlib_wav(opposite, 8000, channels=2)

    for pcm in (read_wav(data), decode_audio(data)):
        assert float(np.max(np.abs(pcm.samples))) < 1e-3


def test_text_file_named_wav_is_refused_as_undecodable() -> None:
    text = b"This is a shopping list, not a recording.\n" * 50

    with pytest.raises(UndecodableAudio) as caught:
        decode_audio(text)

    assert caught.value.error_id == "audio-undecodable"
    assert caught.value.status_code == 400
    assert "MP3" in caught.value.message


def test_read_wav_of_text_is_refused_too() -> None:
    with pytest.raises(UndecodableAudio):
        read_wav(b"RIFF but not really a wave file at all" * 10)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n", id="hls"),
        pytest.param(b"ffconcat version 1.0\nfile /etc/passwd\n", id="concat"),
        pytest.param(bytes(range(256)) * 40, id="binary-garbage"),
    ],
)
def test_playlists_and_garbage_are_refused(data: bytes) -> None:
    with pytest.raises(UndecodableAudio):
        decode_audio(data)


def test_truncated_mp3_keeps_what_was_received() -> None:
    data = encode(tone(1000, 4.0, rate=44100), "mp3", "libmp3lame")

    pcm = decode_audio(data[: len(data) // 2])

    assert 1.0 < pcm.duration < 3.0
    assert dominant_frequency(pcm) == pytest.approx(1000, abs=5)


def test_mp3_cut_inside_its_header_is_undecodable() -> None:
    data = encode(tone(1000, 4.0, rate=44100), "mp3", "libmp3lame")

    with pytest.raises(UndecodableAudio):
        decode_audio(data[:60])


@pytest.mark.parametrize("reader", [decode_audio, read_wav])
def test_zero_bytes_is_empty(reader: Callable[[bytes], Pcm]) -> None:
    with pytest.raises(EmptyAudio) as caught:
        reader(b"")
    assert caught.value.error_id == "audio-empty"


def test_wav_without_samples_is_empty() -> None:
    with pytest.raises(EmptyAudio):
        read_wav(encode_wav(np.zeros(0, dtype=np.int16), 8000))


def test_ten_minutes_with_a_five_minute_limit_fails_fast() -> None:
    data = encode_wav(np.zeros(8000 * 600, dtype=np.int16), 8000)

    started = time.perf_counter()
    with pytest.raises(AudioTooLong) as caught:
        decode_audio(data, max_seconds=300)
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0
    assert caught.value.error_id == "audio-too-long"
    assert caught.value.details["limit_seconds"] == 300
    assert "5:00" in caught.value.message
    assert "10:00" in caught.value.message


def test_length_is_enforced_on_decoded_samples_when_no_duration_is_declared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Containers may declare no duration, or a wrong one: the samples decide.
    import voicestatus.audio.decode as decode_module

    declared: list[float] = []
    monkeypatch.setattr(decode_module, "_check_length", lambda seconds, limit: declared.append(seconds))
    data = encode(tone(1000, 30.0, rate=48000), "ogg", "libopus")

    with pytest.raises(AudioTooLong) as caught:
        decode_audio(data, max_seconds=5)

    assert declared == [pytest.approx(30.0, abs=0.1)]
    assert caught.value.details == {"limit_seconds": 5}
    assert "0:05" in caught.value.message


def test_audio_just_at_the_limit_is_accepted() -> None:
    data = encode(tone(1000, 5.0, rate=48000), "ogg", "libopus")

    assert decode_audio(data, max_seconds=5).duration == pytest.approx(5.0, abs=0.05)


def test_read_wav_fast_path_is_exact_for_asterisk_recordings() -> None:
    ints = (tone(1000, 1.0, rate=16000).samples * 32767).astype(np.int16)

    pcm = read_wav(stdlib_wav(ints, 16000))

    assert pcm.rate == 16000
    np.testing.assert_array_equal(pcm.samples, ints.astype(np.float32) / 32768)


@pytest.mark.parametrize("width", [1, 3, 4])
def test_read_wav_other_integer_widths(width: int) -> None:
    ref = tone(440, 0.5, rate=8000).samples.astype(np.float64)
    if width == 1:
        raw = np.rint(ref * 127 + 128).astype(np.uint8).tobytes()
    elif width == 3:
        ints = np.rint(ref * 8388607).astype("<i4")
        raw = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        raw = np.rint(ref * 2147483647).astype("<i4").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(width)
        out.setframerate(8000)
        out.writeframes(raw)

    pcm = read_wav(buf.getvalue())

    np.testing.assert_allclose(pcm.samples, ref, atol=0.01)


def test_read_wav_falls_back_to_ffmpeg_for_float_wav() -> None:
    samples = tone(1000, 1.0, rate=8000).samples
    header = b"RIFF" + struct.pack("<I", 36 + samples.nbytes) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 3, 1, 8000, 8000 * 4, 4, 32)
    header += b"data" + struct.pack("<I", samples.nbytes)

    pcm = read_wav(header + samples.astype("<f4").tobytes())

    np.testing.assert_allclose(pcm.samples, samples, atol=1e-6)


@pytest.mark.parametrize("rate", [1, 999_999])
def test_absurd_sample_rates_are_refused(rate: int) -> None:
    header = b"RIFF" + struct.pack("<I", 36 + 16000) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", 16000)

    with pytest.raises(UndecodableAudio):
        read_wav(header + bytes(16000))


def test_read_wav_enforces_a_limit_when_given() -> None:
    with pytest.raises(AudioTooLong):
        read_wav(encode_wav(np.zeros(8000 * 70, dtype=np.int16), 8000), max_seconds=60)


def test_every_refusal_is_an_audio_rejection_with_an_actionable_message() -> None:
    for data in (b"", b"nonsense" * 100):
        with pytest.raises(AudioRejected) as caught:
            decode_audio(data)
        assert caught.value.message.endswith(".")
        assert caught.value.status_code == 400


def decode_in_one_pass(data: bytes) -> np.ndarray:
    """The reference: every packet through one FFmpeg decoder, channels averaged."""
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.audio[0]
        frames = [frame.to_ndarray() for packet in container.demux(stream) for frame in packet.decode()]
    mixed: np.ndarray = np.concatenate(frames, axis=1).mean(axis=0)
    return mixed


def speech_like(seconds: float, rate: int) -> Pcm:
    """Voiced bursts with pauses: Opus switches between its modes as it would for a voice."""
    t = np.arange(round(seconds * rate)) / rate
    voice = sum(np.sin(2 * np.pi * f * t) for f in (180.0, 410.0, 1270.0, 2900.0))
    gate = np.sin(2 * np.pi * 0.7 * t) > -0.5
    noise = np.random.default_rng(3).standard_normal(len(t))
    return Pcm((0.1 * voice * gate + 0.01 * noise).astype(np.float32), rate)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize(("fmt", "seconds"), [("webm", 20.0), ("ogg", 9.0)])
def test_long_opus_decodes_to_exactly_the_samples_of_one_pass(
    fmt: str, seconds: float, channels: int
) -> None:
    data = encode(speech_like(seconds, 48000), fmt, "libopus", channels=channels)

    pcm = decode_audio(data)

    reference = decode_in_one_pass(data)
    assert pcm.rate == 48000
    assert len(pcm.samples) == len(reference)
    np.testing.assert_allclose(pcm.samples, np.clip(reference, -1, 1), atol=1e-6)


def test_long_stereo_opus_keeps_its_tone_and_level() -> None:
    data = encode(tone(1000, 30.0, rate=48000, amplitude=0.5), "webm", "libopus", channels=2)

    pcm = decode_audio(data, max_seconds=60)

    assert pcm.duration == pytest.approx(30.0, abs=0.06)
    assert dominant_frequency(pcm) == pytest.approx(1000, abs=1)
    middle = Pcm(pcm.samples[48000:-48000], pcm.rate)
    assert rms_dbfs(middle) == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.5)
