"""The arithmetic behind the benchmark's verdicts."""

from __future__ import annotations

import os

import pytest

from voicestatus_dev.bench.load import _Call, sample
from voicestatus_dev.bench.procstat import cpu_seconds, rss_kb
from voicestatus_dev.bench.stats import CallSample, RateResult, Resources, capacity, percentile, summarise


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_percentile_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], 101)


def test_summary_counts_failures_and_charges_resources_per_call() -> None:
    samples = [CallSample(float(ms), float(ms) + 2) for ms in range(1, 9)]
    samples += [CallSample(None, None, "no-audio"), CallSample(None, None, "no-audio")]
    resources = Resources(asterisk_cpu_s=0.1, service_cpu_s=0.02, generator_cpu_s=0.01,
                          service_rss_growth_kb=300.0, concurrent_calls=30.0)  # fmt: skip
    result = summarise("B", 10, 1.0, samples, resources, extra_failures=1)
    assert result.calls == 10
    assert result.failures == 3
    assert result.failure_kinds == {"no-audio": 2, "service-reported": 1}
    assert result.p50_ms == 4.0
    assert result.entry_p50_ms == 6.0
    assert result.asterisk_cpu_ms_per_call == pytest.approx(10.0)
    assert result.service_cpu_ms_per_call == pytest.approx(2.0)
    assert result.service_rss_kb_per_call == pytest.approx(10.0)
    assert not result.sustained


def test_capacity_is_the_last_rate_before_the_first_miss() -> None:
    def at(path: str, rate: int, ms: float, failed: bool = False) -> RateResult:
        samples = [CallSample(ms, ms)] * 10 + ([CallSample(None, None, "no-audio")] if failed else [])
        return summarise(path, rate, 1.0, samples, Resources())

    results = [
        at("A", 10, 1), at("A", 25, 2), at("A", 50, 250), at("A", 100, 3),
        at("B", 10, 1), at("B", 25, 2, failed=True),
    ]  # fmt: skip
    assert capacity(results, "A") == 25
    assert capacity(results, "B") == 10
    assert capacity(results, "C") is None


def test_call_classification_uses_asterisk_timestamps() -> None:
    ok = sample(_Call(created="2026-01-01T10:00:00.100+0000", up="2026-01-01T10:00:00.105+0000",
                      talking="2026-01-01T10:00:00.108+0000", ended=True))  # fmt: skip
    assert ok.failure is None
    assert ok.answered_to_audio_ms == pytest.approx(3.0)
    assert ok.created_to_audio_ms == pytest.approx(8.0)
    assert sample(_Call(created="2026-01-01T10:00:00.100+0000")).failure == "not-answered"
    silent = _Call(created="2026-01-01T10:00:00.100+0000", up="2026-01-01T10:00:00.105+0000")
    assert sample(silent).failure == "no-audio"
    assert sample(_Call(error="originate-http-500")).failure == "originate-http-500"


def test_process_counters_come_from_proc() -> None:
    pid = os.getpid()
    before = cpu_seconds(pid)
    sum(i * i for i in range(200_000))
    assert cpu_seconds(pid) >= before
    assert rss_kb(pid) > 1000
