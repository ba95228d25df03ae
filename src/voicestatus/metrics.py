"""Prometheus metrics for the whole service, on one private registry.

A private registry (not the process-global default) keeps tests that start
several services in one process independent, and keeps library metrics we
did not choose out of ``/metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.calls = Counter(
            "voicestatus_calls", "Calls handled, by flow and outcome", ["flow", "outcome"], registry=r
        )
        self.plays = Counter(
            "voicestatus_message_plays",
            "Operator messages played to callers, by reason",
            ["reason"],
            registry=r,
        )
        self.fallbacks = Counter(
            "voicestatus_fallbacks",
            "Callers who heard a fallback instead of a message, by kind (template, hangup, continue)",
            ["kind"],
            registry=r,
        )
        self.errors = Counter("voicestatus_errors", "Errors, by kind", ["kind"], registry=r)
        self.purged = Counter(
            "voicestatus_purged",
            "Removed by retention, by kind (messages, files, orphans, temp)",
            ["kind"],
            registry=r,
        )
        self.ari_connected = Gauge(
            "voicestatus_ari_connected", "1 while the ARI events websocket is connected", registry=r
        )
        self.http_latency = Histogram(
            "voicestatus_http_request_seconds",
            "HTTP request latency, by route template and method",
            ["route", "method"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
