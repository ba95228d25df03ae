"""The listening helpers that end-to-end tests use to check what a caller heard."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voicestatus.audio import Pcm
from voicestatus_dev.analysis import (
    concat,
    detect_tones,
    first_sound_at,
    goertzel_power,
    rms_dbfs,
    silence,
    silence_ratio,
    tone,
    tone_segments,
)


def test_goertzel_power_of_a_sine_is_its_power() -> None:
    pcm = tone(1000, 0.1, amplitude=0.5)

    assert goertzel_power(pcm.samples, 8000, 1000) == pytest.approx(0.125, rel=1e-3)
    assert goertzel_power(pcm.samples, 8000, 1400) < 1e-4


def test_tone_segments_finds_a_tone_between_silences() -> None:
    pcm = concat(silence(0.5), tone(1000, 1.0), silence(0.8))

    segments = tone_segments(pcm, 1000)

    assert len(segments) == 1
    start, end = segments[0]
    assert start == pytest.approx(0.5, abs=0.05)
    assert end == pytest.approx(1.5, abs=0.05)


def test_tone_segments_ignores_other_tones_noise_and_blips() -> None:
    noise = Pcm(np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.2, 8000)
    pcm = concat(tone(440, 1.0), noise, tone(1000, 0.05), silence(0.5))

    assert tone_segments(pcm, 1000) == []


def test_detect_tones_tells_440_1000_and_1400_apart() -> None:
    pcm = concat(tone(440, 1.0), silence(0.3), tone(1000, 0.5), silence(0.3), tone(1400, 0.3), silence(0.2))

    found = detect_tones(pcm, [440, 1000, 1400, 2000])

    assert found[440] == pytest.approx(1.0, abs=0.06)
    assert found[1000] == pytest.approx(0.5, abs=0.06)
    assert found[1400] == pytest.approx(0.3, abs=0.06)
    assert found[2000] == 0.0


def test_dual_tone_is_found_by_its_pair_of_frequencies() -> None:
    pcm = concat(silence(0.2), tone([350, 440], 1.0, amplitude=0.4), silence(0.2))

    assert tone_segments(pcm, [350, 440]) == [pytest.approx((0.2, 1.2), abs=0.05)]
    assert tone_segments(pcm, 1000) == []


def test_tone_is_found_in_a_16k_recording_with_a_little_noise() -> None:
    rng = np.random.default_rng(1)
    clean = concat(silence(0.4, 16000), tone(425, 2.0, rate=16000, amplitude=0.3))
    noisy = Pcm(clean.samples + rng.standard_normal(len(clean)).astype(np.float32) * 0.01, 16000)

    assert detect_tones(noisy, [425])[425] == pytest.approx(2.0, abs=0.06)


def test_levels() -> None:
    pcm = concat(silence(1.0), tone(1000, 1.0, amplitude=0.5), silence(2.0))

    assert rms_dbfs(tone(1000, 1.0, amplitude=1.0)) == pytest.approx(-3.01, abs=0.01)
    assert rms_dbfs(silence(1.0)) == -math.inf
    assert silence_ratio(pcm) == pytest.approx(0.75, abs=0.01)
    assert silence_ratio(silence(1.0)) == 1.0
    assert first_sound_at(pcm) == pytest.approx(1.0, abs=0.02)
    assert first_sound_at(silence(1.0)) is None


def test_quiet_sound_is_below_the_default_threshold() -> None:
    pcm = concat(tone(1000, 1.0, amplitude=0.002), tone(1000, 1.0, amplitude=0.2))

    assert first_sound_at(pcm) == pytest.approx(1.0, abs=0.02)
    assert first_sound_at(pcm, threshold_dbfs=-60) == 0.0


def test_test_signals() -> None:
    assert tone(1000, 1.5, rate=16000).duration == 1.5
    assert float(np.max(np.abs(tone([350, 440], 1.0, amplitude=0.5).samples))) <= 0.5
    assert concat(silence(0.5), silence(0.25)).duration == 0.75
    with pytest.raises(ValueError, match="sample rates"):
        concat(silence(0.5, 8000), silence(0.5, 16000))
