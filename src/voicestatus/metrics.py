"""Prometheus metrics for the whole service, on one private registry.

A private registry (not the process-global default) keeps tests that start
several services in one process independent, and keeps library metrics we
did not choose out of ``/metrics``.

Every label is bounded: a label value can come from outside (a flow name
from a Stasis argument, a route), and each new value is a new series kept
forever, so each label takes at most ``MAX_LABEL_VALUES`` distinct values and
reports any further one as ``other``. The callers keep their values to known
sets anyway (the web layer maps methods and unmatched routes itself); this is
the backstop that keeps ``/metrics`` small whatever happens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

MAX_LABEL_VALUES = 64
OTHER = "other"

_M = TypeVar("_M", Counter, Histogram)


class Bounded(Generic[_M]):
    """A labelled metric whose labels each take at most ``max_values`` distinct values."""

    def __init__(
        self, metric: _M, known: Mapping[str, Iterable[str]] | None = None, max_values: int = MAX_LABEL_VALUES
    ) -> None:
        self.metric: _M = metric
        self.max_values = max_values
        self._known = {name: frozenset(values) for name, values in (known or {}).items()}
        self._seen: dict[str, set[str]] = {}

    def labels(self, **values: str) -> _M:
        """The child for ``values``; a label's value beyond its first ``max_values`` is ``other``.

        ``known`` values (the service's own flow names, outcomes ...) always
        keep their name and do not use up the allowance.
        """
        bounded = {}
        for name, value in values.items():
            if value in self._known.get(name, ()):
                bounded[name] = value
                continue
            seen = self._seen.setdefault(name, set())
            if value not in seen and len(seen) < self.max_values:
                seen.add(value)
            bounded[name] = value if value in seen else OTHER
        child: _M = self.metric.labels(**bounded)
        return child


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.calls = Bounded(
            Counter(
                "voicestatus_calls", "Calls handled, by flow and outcome", ["flow", "outcome"], registry=r
            ),
            known={
                "flow": ("menu", "unavailable", "none"),
                "outcome": ("ok", "hangup", "error", "unknown-flow"),
            },
        )
        self.plays = Bounded(
            Counter(
                "voicestatus_message_plays",
                "Operator messages played to callers, by reason",
                ["reason"],
                registry=r,
            )
        )
        self.fallbacks = Bounded(
            Counter(
                "voicestatus_fallbacks",
                "Callers who heard a fallback instead of a message, by kind (template, hangup, continue)",
                ["kind"],
                registry=r,
            )
        )
        self.errors = Bounded(Counter("voicestatus_errors", "Errors, by kind", ["kind"], registry=r))
        self.purged = Bounded(
            Counter(
                "voicestatus_purged",
                "Removed by retention, by kind (messages, files, orphans, temp)",
                ["kind"],
                registry=r,
            )
        )
        self.ari_connected = Gauge(
            "voicestatus_ari_connected", "1 while the ARI events websocket is connected", registry=r
        )
        self.http_latency = Bounded(
            Histogram(
                "voicestatus_http_request_seconds",
                "HTTP request latency, by route template and method",
                ["route", "method"],
                registry=r,
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            )
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
