"""The one in-memory audio type passed between decoding, processing and analysis.

Everything is mono float32 in [-1, 1] at a known rate, so no step has to guess
sample formats or channel layouts again after decoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class Pcm:
    """Mono float32 samples in [-1, 1] and their sample rate in Hz.

    The array is coerced to a 1-D float32 array on construction (no copy if it
    already is one). Equality is identity: comparing audio sample by sample is
    a job for tests, not for ``==``.
    """

    samples: FloatArray
    rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"Pcm samples must be 1-D (mono), got shape {samples.shape}")
        if int(self.rate) <= 0:
            raise ValueError(f"Pcm rate must be positive, got {self.rate}")
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "rate", int(self.rate))

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.rate

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return f"Pcm(rate={self.rate}, samples={len(self.samples)}, duration={self.duration:.3f}s)"
