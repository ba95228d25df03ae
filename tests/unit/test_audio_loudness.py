"""Our vectorised BS.1770 meter must agree with pyloudnorm, the reference implementation."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest

from voicestatus.audio.loudness import integrated_loudness


def reference(samples: np.ndarray, rate: int) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64)))


def bursts(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Noise with loud and quiet stretches, so both gates have work to do."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    envelope = np.repeat(rng.uniform(0.0, 1.0, n // 800 + 1) ** 3, 800)[:n]
    return (rng.standard_normal(n) * 0.2 * envelope).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("seconds", [0.4, 0.55, 3.0, 20.0])
def test_matches_pyloudnorm(rate: int, seconds: float) -> None:
    samples = bursts(seconds, rate, seed=rate + round(seconds * 100))

    assert integrated_loudness(samples, rate) == pytest.approx(reference(samples, rate), abs=1e-6)


def test_matches_pyloudnorm_for_a_sine() -> None:
    t = np.arange(16000 * 2) / 16000
    samples = (0.25 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)

    assert integrated_loudness(samples, 16000) == pytest.approx(reference(samples, 16000), abs=1e-6)


def test_shorter_than_one_block_or_silent_is_minus_infinity() -> None:
    assert integrated_loudness(np.ones(100, dtype=np.float32) * 0.5, 8000) == -math.inf
    assert integrated_loudness(np.zeros(8000, dtype=np.float32), 8000) == -math.inf
