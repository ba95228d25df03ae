"""Every metric label is bounded, whatever values reach it."""

from __future__ import annotations

from voicestatus.metrics import Metrics

MOST_SERIES = 100  # per metric, whatever the values: /metrics stays small


def series(metrics: Metrics, name: str) -> list[str]:
    return [line for line in metrics.render().decode().splitlines() if line.startswith(name + "{")]


def test_unknown_flow_names_cannot_grow_the_calls_metric() -> None:
    """A Stasis argument names the flow; thousands of made-up names stay a bounded set of series."""
    metrics = Metrics()
    for n in range(2000):
        metrics.calls.labels(flow=f"made-up-{n}", outcome="unknown-flow").inc()
    metrics.calls.labels(flow="menu", outcome="ok").inc()
    lines = series(metrics, "voicestatus_calls_total")
    assert len(lines) <= MOST_SERIES
    assert 'voicestatus_calls_total{flow="other",outcome="unknown-flow"} 1936.0' in lines
    assert 'voicestatus_calls_total{flow="menu",outcome="ok"} 1.0' in lines
    assert len(metrics.render()) < 64 * 1024


def test_every_labelled_metric_is_bounded() -> None:
    metrics = Metrics()
    for n in range(500):
        value = f"v{n}"
        metrics.plays.labels(reason=value).inc()
        metrics.fallbacks.labels(kind=value).inc()
        metrics.errors.labels(kind=value).inc()
        metrics.purged.labels(kind=value).inc()
        metrics.http_latency.labels(route=value, method=value).observe(0.01)
    for name in ("message_plays_total", "fallbacks_total", "errors_total", "purged_total"):
        assert len(series(metrics, f"voicestatus_{name}")) <= MOST_SERIES
    counts = series(metrics, "voicestatus_http_request_seconds_count")
    assert len(counts) <= MOST_SERIES  # route and method grow together here
