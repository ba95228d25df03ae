"""Accepting a recording: trimmed, equally loud, under the peak ceiling, and refused without talk."""

from __future__ import annotations

import hashlib
import io
import time
import wave
from pathlib import Path

import av
import numpy as np
import pyloudnorm
import pytest

from voicestatus.audio import (
    Pcm,
    ProcessedAudio,
    ProcessingSettings,
    SilentAudio,
    TooLittleTalk,
    decode_audio,
    process_recording,
    read_wav,
)
from voicestatus.config import Config
from voicestatus_dev.analysis import concat, first_sound_at, silence, tone, tone_segments

SETTINGS = ProcessingSettings()


def speech_like(seconds: float, rate: int, level: float = 0.1, seed: int = 0) -> Pcm:
    """Noise in 100 ms syllables, with the short pauses of running speech."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    syllable = rate // 10
    voiced = np.repeat(rng.uniform(size=n // syllable + 1) > 0.25, syllable)[:n]
    shaped = (
        rng.standard_normal(n)
        * level
        * voiced
        * np.repeat(rng.uniform(0.3, 1.0, n // syllable + 1), syllable)[:n]
    )
    return Pcm(np.clip(shaped, -1, 1).astype(np.float32), rate)


def loudness(wav: bytes) -> float:
    pcm = read_wav(wav)
    return float(pyloudnorm.Meter(pcm.rate).integrated_loudness(pcm.samples.astype(np.float64)))


def peak_dbfs(wav: bytes) -> float:
    return float(20 * np.log10(np.max(np.abs(read_wav(wav).samples))))


def wav_params(wav: bytes) -> tuple[int, int, int, float]:
    with wave.open(io.BytesIO(wav)) as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes() / w.getframerate()


@pytest.mark.parametrize(
    "pcm",
    [
        pytest.param(tone(1000, 3.0, amplitude=0.01), id="quiet-tone-8k"),
        pytest.param(tone(440, 3.0, rate=16000, amplitude=0.9), id="loud-tone-16k"),
        pytest.param(speech_like(8.0, 8000, level=0.02), id="quiet-speech-8k"),
        pytest.param(speech_like(8.0, 44100, level=0.2), id="loud-speech-44k"),
        pytest.param(speech_like(5.0, 48000, level=0.05, seed=3), id="speech-48k"),
    ],
)
def test_both_variants_reach_the_loudness_target_under_the_peak_ceiling(pcm: Pcm) -> None:
    result = process_recording(pcm, SETTINGS)

    for wav in (result.wav8k, result.wav16k):
        assert loudness(wav) == pytest.approx(-20.0, abs=1.0)
        assert peak_dbfs(wav) <= -1.0
    assert result.loudness_lufs == pytest.approx(loudness(result.wav8k), abs=0.05)
    assert result.peak_dbfs == pytest.approx(peak_dbfs(result.wav8k), abs=0.01)


def test_other_targets_from_settings_are_honoured() -> None:
    settings = ProcessingSettings(target_lufs=-16.0, peak_dbfs=-3.0)

    result = process_recording(tone(700, 4.0, rate=16000, amplitude=0.05), settings)

    assert loudness(result.wav8k) == pytest.approx(-16.0, abs=1.0)
    assert peak_dbfs(result.wav8k) <= -3.0
    assert peak_dbfs(result.wav16k) <= -3.0


def test_peak_ceiling_wins_over_the_loudness_target() -> None:
    # Quiet speech with a loud click: reaching -20 LUFS would clip the click.
    pcm = speech_like(6.0, 8000, level=0.01)
    samples = pcm.samples.copy()
    samples[8000 * 3 : 8000 * 3 + 40] = 0.9
    result = process_recording(Pcm(samples, 8000), SETTINGS)

    assert peak_dbfs(result.wav8k) <= -1.0
    assert peak_dbfs(result.wav8k) == pytest.approx(-1.0, abs=0.1)
    assert loudness(result.wav8k) < -21.0


def test_leading_and_trailing_silence_is_trimmed_to_the_padding() -> None:
    pcm = concat(silence(2.0), tone(1000, 2.0, amplitude=0.3), silence(3.0))

    result = process_recording(pcm, SETTINGS)

    assert result.duration == pytest.approx(2.0 + 2 * SETTINGS.keep_padding, abs=0.05)
    trimmed = read_wav(result.wav8k)
    assert first_sound_at(trimmed) == pytest.approx(SETTINGS.keep_padding, abs=0.03)
    assert wav_params(result.wav16k)[3] == pytest.approx(result.duration, abs=0.01)


def test_padding_never_reaches_before_the_start() -> None:
    pcm = concat(tone(1000, 2.0, amplitude=0.3), silence(1.0))

    result = process_recording(pcm, SETTINGS)

    assert result.duration == pytest.approx(2.0 + SETTINGS.keep_padding, abs=0.05)


@pytest.mark.parametrize(
    ("parts", "talk"),
    [
        pytest.param([(0.5, 0), (2.0, 1000), (1.0, 0), (1.5, 440), (0.7, 0)], 3.5, id="two-phrases"),
        pytest.param([(3.0, 700)], 3.0, id="talk-only"),
        pytest.param([(1.0, 0), (1.2, 1000), (4.0, 0)], 1.2, id="short-phrase-long-pause"),
        pytest.param([(0.4, 500), (0.1, 0), (0.4, 500), (0.1, 0), (0.4, 500)], 1.4, id="syllables"),
    ],
)
def test_talk_duration_counts_talk_not_length(parts: list[tuple[float, int]], talk: float) -> None:
    pcm = concat(*(tone(f, s, amplitude=0.3) if f else silence(s) for s, f in parts))

    result = process_recording(pcm, SETTINGS)

    assert result.talk_duration == pytest.approx(talk, abs=0.06)


@pytest.mark.parametrize(
    "pcm",
    [
        pytest.param(silence(5.0), id="digital-silence"),
        pytest.param(
            Pcm(np.random.default_rng(0).standard_normal(40000).astype(np.float32) * 0.001, 8000),
            id="line-noise",
        ),
        pytest.param(tone(50, 5.0, amplitude=0.05), id="mains-hum"),
        pytest.param(Pcm(np.full(40000, 0.3, dtype=np.float32), 8000), id="dc-offset"),
    ],
)
def test_no_talk_is_refused_as_silent(pcm: Pcm) -> None:
    with pytest.raises(SilentAudio) as caught:
        process_recording(pcm, SETTINGS)

    assert caught.value.error_id == "audio-silent"
    assert caught.value.status_code == 400
    assert caught.value.details["duration_seconds"] == pytest.approx(5.0)


def test_half_a_second_of_talk_is_refused_as_too_short() -> None:
    pcm = concat(silence(1.0), tone(1000, 0.5, amplitude=0.3), silence(1.0))

    with pytest.raises(TooLittleTalk) as caught:
        process_recording(pcm, SETTINGS)

    assert caught.value.error_id == "audio-too-short"
    assert caught.value.details["talk_seconds"] == pytest.approx(0.5, abs=0.06)
    assert caught.value.details["min_talk_seconds"] == 1.0
    assert "0.5 s" in caught.value.message
    assert "1.0 s" in caught.value.message


def test_min_talk_comes_from_settings() -> None:
    pcm = concat(silence(1.0), tone(1000, 0.5, amplitude=0.3), silence(1.0))

    result = process_recording(pcm, ProcessingSettings(min_talk_seconds=0.3))

    assert result.talk_duration == pytest.approx(0.5, abs=0.06)


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_variants_are_mono_16_bit_wavs_at_8_and_16_khz(rate: int) -> None:
    result = process_recording(speech_like(3.0, rate), SETTINGS)

    assert wav_params(result.wav8k)[:3] == (1, 2, 8000)
    assert wav_params(result.wav16k)[:3] == (1, 2, 16000)
    assert wav_params(result.wav8k)[3] == pytest.approx(result.duration, abs=1e-3)
    assert result.wav8k[:4] == b"RIFF"
    assert result.wav8k[8:16] == b"WAVEfmt "


def test_sha_is_sha256_of_the_8k_wav_and_is_stable() -> None:
    first = process_recording(speech_like(3.0, 16000), SETTINGS)
    again = process_recording(speech_like(3.0, 16000), SETTINGS)
    other = process_recording(speech_like(3.0, 16000, seed=1), SETTINGS)

    assert first.sha256 == hashlib.sha256(first.wav8k).hexdigest()
    assert again == first
    assert other.sha256 != first.sha256


def test_dc_offset_is_removed() -> None:
    pcm = tone(1000, 2.0, amplitude=0.3)
    result = process_recording(Pcm(pcm.samples + 0.2, 8000), SETTINGS)

    assert abs(float(np.mean(read_wav(result.wav8k).samples))) < 0.01


def test_repr_does_not_dump_audio() -> None:
    result = process_recording(tone(1000, 2.0), SETTINGS)

    assert len(repr(result)) < 300
    assert isinstance(result, ProcessedAudio)


def test_settings_come_from_config() -> None:
    config = Config()

    settings = ProcessingSettings.from_config(config)

    assert settings.target_lufs == config.media.target_lufs
    assert settings.peak_dbfs == config.media.peak_dbfs
    assert settings.min_talk_seconds == config.phone.min_talk_seconds


@pytest.mark.parametrize(
    "bad",
    [{"target_lufs": 3.0}, {"peak_dbfs": 1.0}, {"min_talk_seconds": -1.0}, {"keep_padding": -0.1}],
)
def test_nonsense_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        ProcessingSettings(**bad)


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_sixty_seconds_process_quickly(rate: int, capsys: pytest.CaptureFixture[str]) -> None:
    pcm = speech_like(60.0, rate)
    process_recording(pcm, SETTINGS)  # warm caches (filter design, FFT plans)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        result = process_recording(pcm, SETTINGS)
        timings.append(time.perf_counter() - started)

    with capsys.disabled():
        print(f"\n60 s at {rate} Hz processed in {min(timings) * 1000:.1f} ms (best of 3)")
    assert result.duration > 55.0


def opus_upload(pcm: Pcm) -> Pcm:
    """``pcm`` as a browser's MediaRecorder would upload it (WebM/Opus, 48 kHz), decoded again."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=48000, layout="mono")
        assert isinstance(stream, av.AudioStream)
        frame = av.AudioFrame.from_ndarray(pcm.samples[np.newaxis, :], format="flt", layout="mono")
        frame.sample_rate = 48000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return decode_audio(buffer.getvalue())


@pytest.mark.parametrize("freq", [1000, 3000])
def test_tones_of_an_opus_upload_keep_their_frequency_and_level_in_both_variants(freq: int) -> None:
    result = process_recording(opus_upload(tone(freq, 12.0, rate=48000, amplitude=0.3)), SETTINGS)

    for wav in (result.wav8k, result.wav16k):
        pcm = read_wav(wav)
        ((start, end),) = tone_segments(pcm, freq)
        assert start == 0.0
        assert end == pytest.approx(pcm.duration, abs=0.06)
        assert loudness(wav) == pytest.approx(-20.0, abs=1.0)


def test_an_opus_upload_keeps_up_to_8_khz_in_the_wideband_variant_only() -> None:
    result = process_recording(opus_upload(tone([1000, 6000], 12.0, rate=48000, amplitude=0.6)), SETTINGS)

    assert tone_segments(read_wav(result.wav16k), 6000, min_ratio=0.4) != []
    assert tone_segments(read_wav(result.wav8k), 6000, min_ratio=0.01) == []


SPEECH = Path(__file__).parent.parent / "fixtures" / "audio" / "speech-en-8k.wav"


def test_real_speech_recorded_on_a_phone_is_trimmed_and_normalised() -> None:
    speech = read_wav(SPEECH.read_bytes())
    hiss = np.random.default_rng(0).standard_normal(8000 * 8).astype(np.float32) * 0.0005
    quiet = Pcm(speech.samples * 0.3, 8000)
    recorded = concat(silence(1.0), quiet, silence(1.5))
    recorded = Pcm(recorded.samples + hiss[: len(recorded)], 8000)

    result = process_recording(recorded, SETTINGS)

    assert result.duration <= speech.duration + 2 * SETTINGS.keep_padding
    assert result.duration > speech.duration - 0.5
    assert first_sound_at(read_wav(result.wav8k)) == pytest.approx(SETTINGS.keep_padding, abs=0.05)
    assert 1.8 < result.talk_duration <= speech.duration
    assert loudness(result.wav8k) == pytest.approx(-20.0, abs=1.0)
    assert loudness(result.wav16k) == pytest.approx(-20.0, abs=1.0)
    assert peak_dbfs(result.wav8k) <= -1.0
