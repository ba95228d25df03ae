"""ITU-R BS.1770 integrated loudness, vectorised.

pyloudnorm is the reference implementation we test against, but it loops over
gating blocks in Python and filters in two passes; at 16 kHz that alone takes
tens of milliseconds per minute of audio. This module follows its math exactly
(same K-weighting biquads designed for the actual sample rate, 400 ms blocks
with 75 % overlap, the same block boundaries, -70 LUFS absolute and -10 LU
relative gates) with one filter pass (the two biquads multiplied into one
fourth-order filter, which float64 runs as exactly: within 1e-9 LU of the
reference up to 384 kHz) and the blocks summed from the stretches between
block edges.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt
import scipy.signal  # type: ignore[import-untyped, unused-ignore]

BLOCK_SECONDS = 0.4
_STEP = 1.0 - 0.75
_ABSOLUTE_GATE = -70.0


def k_weighting_sos(rate: int) -> npt.NDArray[np.float64]:
    """Second-order sections of the K-weighting filter (shelf, then high-pass) at ``rate``."""
    shelf_gain = 10 ** (4.0 / 40.0)
    w0 = 2.0 * math.pi * (1500.0 / rate)
    alpha = math.sin(w0) / (2.0 * (1 / math.sqrt(2)))
    a_ = shelf_gain
    cos = math.cos(w0)
    root = 2 * math.sqrt(a_) * alpha
    shelf_b = [
        a_ * ((a_ + 1) + (a_ - 1) * cos + root),
        -2 * a_ * ((a_ - 1) + (a_ + 1) * cos),
        a_ * ((a_ + 1) + (a_ - 1) * cos - root),
    ]
    shelf_a = [
        (a_ + 1) - (a_ - 1) * cos + root,
        2 * ((a_ - 1) - (a_ + 1) * cos),
        (a_ + 1) - (a_ - 1) * cos - root,
    ]

    w0 = 2.0 * math.pi * (38.0 / rate)
    alpha = math.sin(w0) / (2.0 * 0.5)
    cos = math.cos(w0)
    hp_b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
    hp_a = [1 + alpha, -2 * cos, 1 - alpha]

    sections = [
        [*(b / shelf_a[0] for b in shelf_b), *(a / shelf_a[0] for a in shelf_a)],
        [*(b / hp_a[0] for b in hp_b), *(a / hp_a[0] for a in hp_a)],
    ]
    return np.asarray(sections, dtype=np.float64)


@functools.lru_cache(maxsize=8)
def _k_weighting_ba(rate: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The two sections as one fourth-order filter: a fifth faster to run, and as exact in float64."""
    b, a = scipy.signal.sos2tf(k_weighting_sos(rate))
    return b, a


def block_energies(samples: npt.NDArray[np.floating], rate: int) -> npt.NDArray[np.float64]:
    """Mean square of the K-weighted signal in each 400 ms gating block."""
    n = len(samples)
    block = BLOCK_SECONDS * rate
    if n < block:
        return np.zeros(0)
    b, a = _k_weighting_ba(rate)
    weighted = scipy.signal.lfilter(b, a, samples.astype(np.float64, copy=False))
    count = int(np.round((n / rate - BLOCK_SECONDS) / (BLOCK_SECONDS * _STEP))) + 1
    j = np.arange(count, dtype=np.float64)
    lower = np.minimum((BLOCK_SECONDS * (j * _STEP) * rate).astype(np.int64), n)
    upper = np.minimum((BLOCK_SECONDS * (j * _STEP + 1) * rate).astype(np.int64), n)
    # Blocks overlap, so the squares are summed once per stretch between block
    # edges; a block is then the sum of its few stretches (a running total over
    # the edges, not over every sample).
    edges = np.unique(np.concatenate((lower, upper, [0, n])))
    stretches = np.add.reduceat(np.square(weighted, out=weighted), edges[:-1])
    totals = np.concatenate(([0.0], np.cumsum(stretches)))
    energies: npt.NDArray[np.float64] = (
        totals[np.searchsorted(edges, upper)] - totals[np.searchsorted(edges, lower)]
    ) / block
    return energies


def integrated_loudness(samples: npt.NDArray[np.floating], rate: int) -> float:
    """Gated loudness in LUFS; ``-inf`` when shorter than one block or below the gates."""
    z = block_energies(samples, rate)
    if len(z) == 0:
        return -math.inf
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10.0 * np.log10(z)
    above_abs = z[levels >= _ABSOLUTE_GATE]
    if len(above_abs) == 0:
        return -math.inf
    relative_gate = -0.691 + 10.0 * math.log10(float(np.mean(above_abs))) - 10.0
    gated = z[(levels > relative_gate) & (levels > _ABSOLUTE_GATE)]
    if len(gated) == 0:
        return -math.inf
    return -0.691 + 10.0 * math.log10(float(np.mean(gated)))
