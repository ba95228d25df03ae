"""The benchmark report: every target gets a verdict, the JSON has every section."""

from __future__ import annotations

import json

from voicestatus_dev.bench.report import Report
from voicestatus_dev.bench.stats import CallSample, Resources, summarise


def _report(b_ms: float, *, service_cpu_s: float = 0.01) -> Report:
    resources = Resources(asterisk_cpu_s=0.5, service_cpu_s=service_cpu_s, generator_cpu_s=0.05,
                          service_rss_growth_kb=3000.0, concurrent_calls=150.0)  # fmt: skip
    rates = []
    for rate in (10, 25, 50):
        rates.append(summarise("A", rate, 1.0, [CallSample(1.0, 2.0)] * rate, resources))
        rates.append(summarise("B", rate, 1.0, [CallSample(b_ms, b_ms + 5)] * rate, resources))
    return Report(
        machine={"cores": 2},
        method={"seconds_per_rate": 1.0},
        rates=rates,
        audio={"recording_wav8k_ms": 30.0, "upload_webm_opus_ms": 130.0},
        api={"clients": 20, "p50_ms": 10.0, "p95_ms": 20.0},
    )


def test_targets_met_and_missed_are_reported() -> None:
    verdicts = {v.name: v for v in _report(3.0).verdicts()}
    assert verdicts["B adds at p50, 50 calls/s"].met is True
    assert verdicts["B adds at p50, 50 calls/s"].measured == "2.0 ms"
    assert verdicts["capacity B / A"].met is True
    assert verdicts["service CPU / Asterisk CPU per call, 50 calls/s"].measured == "2%"
    assert verdicts["service memory per concurrent call"].measured == "20.0 KB"
    assert verdicts["audio: upload_webm_opus (60 s)"].met is False
    assert verdicts["API operators list p95 (20 clients)"].met is True

    slow = {v.name: v for v in _report(20.0, service_cpu_s=0.25).verdicts()}
    assert slow["B adds at p99, 50 calls/s"].met is False
    assert slow["service CPU / Asterisk CPU per call, 50 calls/s"].met is False


def test_missing_figures_are_not_counted_as_met() -> None:
    report = Report(machine={}, method={}, rates=[], api={})
    verdicts = {v.name: v for v in report.verdicts()}
    assert verdicts["B adds at p50, 50 calls/s"].met is None
    assert verdicts["capacity B / A"].met is None


def test_table_and_json_carry_every_section() -> None:
    report = _report(3.0)
    table = report.table()
    assert "| 50 | B | 50 | 0 | 3 / 3 / 3 | 2.0 / 2.0 |" in table
    assert "Capacity (p99 < 200 ms, no failed call): A 50 calls/s, B 50 calls/s" in table
    data = json.loads(json.dumps(report.to_json()))
    assert set(data) == {"machine", "method", "capacity_calls_per_second", "rates", "audio", "api", "targets"}
    assert data["capacity_calls_per_second"] == {"A": 50, "B": 50}
    assert data["rates"][0]["sustained"] is True
