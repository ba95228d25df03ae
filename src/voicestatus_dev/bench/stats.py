"""Numbers from raw measurements: percentiles, per-rate summaries, capacity.

Kept free of I/O so the arithmetic the report's verdicts rest on can be
unit-tested with made-up samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# A path "sustains" a rate when every call got audio and p99 stays under this.
CAPACITY_P99_MS = 200.0


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (``pct`` in 0..100); None for no values."""
    if not values:
        return None
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be 0..100, not {pct}")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class CallSample:
    """One call as Asterisk reported it; times in ms, None when never seen."""

    answered_to_audio_ms: float | None
    created_to_audio_ms: float | None
    failure: str | None = None


@dataclass(frozen=True)
class RateResult:
    """One path at one rate: latency percentiles, failures and resources."""

    path: str
    rate: int
    seconds: float
    calls: int
    failures: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    entry_p50_ms: float | None
    entry_p99_ms: float | None
    achieved_rate: float
    asterisk_cpu_ms_per_call: float | None
    service_cpu_ms_per_call: float | None
    generator_cpu_ms_per_call: float | None
    service_rss_kb_per_call: float | None
    failure_kinds: dict[str, int]

    @property
    def sustained(self) -> bool:
        return self.failures == 0 and self.p99_ms is not None and self.p99_ms < CAPACITY_P99_MS

    def to_json(self) -> dict[str, object]:
        data = dict(self.__dict__)
        data["sustained"] = self.sustained
        return data


@dataclass(frozen=True)
class Resources:
    """CPU seconds and memory spent during one rate's run; None where not measured."""

    asterisk_cpu_s: float | None = None
    service_cpu_s: float | None = None
    generator_cpu_s: float | None = None
    service_rss_growth_kb: float | None = None
    concurrent_calls: float | None = None


def summarise(
    path: str,
    rate: int,
    seconds: float,
    samples: Sequence[CallSample],
    resources: Resources,
    *,
    extra_failures: int = 0,
) -> RateResult:
    """``extra_failures`` are calls the far end reported as failed (e.g. service metrics)."""
    latencies = [
        s.answered_to_audio_ms for s in samples if s.failure is None and s.answered_to_audio_ms is not None
    ]
    entries = [
        s.created_to_audio_ms for s in samples if s.failure is None and s.created_to_audio_ms is not None
    ]
    kinds: dict[str, int] = {}
    for sample in samples:
        if sample.failure is not None:
            kinds[sample.failure] = kinds.get(sample.failure, 0) + 1
    if extra_failures:
        kinds["service-reported"] = extra_failures
    calls = len(samples)
    failures = sum(kinds.values())

    def per_call(total: float | None, scale: float = 1000.0) -> float | None:
        return None if total is None or calls == 0 else total * scale / calls

    rss = None
    if resources.service_rss_growth_kb is not None and resources.concurrent_calls:
        rss = max(0.0, resources.service_rss_growth_kb) / resources.concurrent_calls
    return RateResult(
        path=path,
        rate=rate,
        seconds=seconds,
        calls=calls,
        failures=failures,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        entry_p50_ms=percentile(entries, 50),
        entry_p99_ms=percentile(entries, 99),
        achieved_rate=calls / seconds if seconds > 0 else 0.0,
        asterisk_cpu_ms_per_call=per_call(resources.asterisk_cpu_s),
        service_cpu_ms_per_call=per_call(resources.service_cpu_s),
        generator_cpu_ms_per_call=per_call(resources.generator_cpu_s),
        service_rss_kb_per_call=rss,
        failure_kinds=kinds,
    )


def capacity(results: Sequence[RateResult], path: str) -> int | None:
    """The highest rate ``path`` sustained with every lower rate sustained too.

    A path that fails at 50 but passes at 100 by luck has not shown it
    sustains 100, so the first miss ends the climb.
    """
    best: int | None = None
    for result in sorted((r for r in results if r.path == path), key=lambda r: r.rate):
        if not result.sustained:
            break
        best = result.rate
    return best


def difference(b: float | None, a: float | None) -> float | None:
    return None if a is None or b is None else b - a
