"""The benchmark's verdicts, as a table for people and JSON for the record.

Every target from the benchmark's brief is checked here against the
measured numbers, so the printed table, ``results.json`` and the
README (both beside this module) all say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from voicestatus_dev.bench.stats import RateResult, capacity, difference

REFERENCE_RATE = 50
TARGETS = {
    "p50_added_ms": 3.0,
    "p99_added_ms": 10.0,
    "capacity_ratio": 0.9,
    "service_cpu_share": 0.15,
    "rss_kb_per_call": 50.0,
    "audio_ms": 100.0,
    "api_p95_ms": 50.0,
}


@dataclass(frozen=True)
class Verdict:
    name: str
    target: str
    measured: str
    met: bool | None  # None: could not be measured


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@dataclass
class Report:
    machine: dict[str, object]
    method: dict[str, object]
    rates: Sequence[RateResult]
    audio: dict[str, float] = field(default_factory=dict)
    api: dict[str, object] = field(default_factory=dict)

    def result(self, path: str, rate: int) -> RateResult | None:
        return next((r for r in self.rates if r.path == path and r.rate == rate), None)

    def verdicts(self) -> list[Verdict]:
        out: list[Verdict] = []
        a, b = self.result("A", REFERENCE_RATE), self.result("B", REFERENCE_RATE)
        for label, attr, key in (("p50", "p50_ms", "p50_added_ms"), ("p99", "p99_ms", "p99_added_ms")):
            added = difference(getattr(b, attr, None), getattr(a, attr, None))
            met = None if added is None else added <= TARGETS[key]
            goal = f"<= {TARGETS[key]:.0f} ms"
            out.append(
                Verdict(f"B adds at {label}, {REFERENCE_RATE} calls/s", goal, f"{_fmt(added)} ms", met)
            )
        cap_a, cap_b = capacity(self.rates, "A"), capacity(self.rates, "B")
        ratio = None if not cap_a or cap_b is None else cap_b / cap_a
        out.append(
            Verdict(
                "capacity B / A",
                f">= {TARGETS['capacity_ratio']:.0%}",
                f"{cap_b or 0} / {cap_a or 0} calls/s",
                None if ratio is None else ratio >= TARGETS["capacity_ratio"],
            )
        )
        share = None
        if b is not None and b.service_cpu_ms_per_call is not None and b.asterisk_cpu_ms_per_call:
            share = b.service_cpu_ms_per_call / b.asterisk_cpu_ms_per_call
        out.append(
            Verdict(
                f"service CPU / Asterisk CPU per call, {REFERENCE_RATE} calls/s",
                f"<= {TARGETS['service_cpu_share']:.0%}",
                "-" if share is None else f"{share:.0%}",
                None if share is None else share <= TARGETS["service_cpu_share"],
            )
        )
        rss = [r.service_rss_kb_per_call for r in self.rates if r.path == "B" and r.sustained]
        worst = max((x for x in rss if x is not None), default=None)
        out.append(
            Verdict(
                "service memory per concurrent call",
                f"<= {TARGETS['rss_kb_per_call']:.0f} KB",
                f"{_fmt(worst)} KB",
                None if worst is None else worst <= TARGETS["rss_kb_per_call"],
            )
        )
        for name, ms in self.audio.items():
            goal = f"<= {TARGETS['audio_ms']:.0f} ms"
            out.append(
                Verdict(
                    f"audio: {name.removesuffix('_ms')} (60 s)",
                    goal,
                    f"{ms:.0f} ms",
                    ms <= TARGETS["audio_ms"],
                )
            )
        p95 = self.api.get("p95_ms")
        out.append(
            Verdict(
                f"API operators list p95 ({self.api.get('clients', '-')} clients)",
                f"<= {TARGETS['api_p95_ms']:.0f} ms",
                f"{_fmt(p95) if isinstance(p95, float) else '-'} ms",
                p95 <= TARGETS["api_p95_ms"] if isinstance(p95, float) else None,
            )
        )
        return out

    @staticmethod
    def rate_line(r: RateResult) -> str:
        return (
            f"{r.path} {r.rate:>4}/s  calls {r.calls:>5} failed {r.failures:>4}  "
            f"audio p50/p95/p99 {_fmt(r.p50_ms, 0)}/{_fmt(r.p95_ms, 0)}/{_fmt(r.p99_ms, 0)} ms  "
            f"entry p50/p99 {_fmt(r.entry_p50_ms, 0)}/{_fmt(r.entry_p99_ms, 0)} ms  "
            f"CPU/call ast {_fmt(r.asterisk_cpu_ms_per_call, 2)} svc {_fmt(r.service_cpu_ms_per_call, 2)} "
            f"gen {_fmt(r.generator_cpu_ms_per_call, 2)} ms"
        )

    def table(self) -> str:
        head = (
            "| rate | path | calls | failed | first audio p50 / p95 / p99 (ms) | B-A p50 / p99 (ms) "
            "| from entry p50 / p99 (ms) | CPU/call Asterisk / service / generator (ms) "
            "| service KB/concurrent call |"
        )
        lines = [head, "|" + "---|" * 9]
        for r in self.rates:
            a = self.result("A", r.rate)
            delta = ""
            if r.path == "B" and a is not None:
                delta = f"{_fmt(difference(r.p50_ms, a.p50_ms))} / {_fmt(difference(r.p99_ms, a.p99_ms))}"
            lines.append(
                f"| {r.rate} | {r.path} | {r.calls} | {r.failures} | "
                f"{_fmt(r.p50_ms, 0)} / {_fmt(r.p95_ms, 0)} / {_fmt(r.p99_ms, 0)} | {delta} | "
                f"{_fmt(r.entry_p50_ms, 0)} / {_fmt(r.entry_p99_ms, 0)} | "
                f"{_fmt(r.asterisk_cpu_ms_per_call, 2)} / {_fmt(r.service_cpu_ms_per_call, 2)} / "
                f"{_fmt(r.generator_cpu_ms_per_call, 2)} | {_fmt(r.service_rss_kb_per_call)} |"
            )
        lines += [
            "",
            f"Capacity (p99 < 200 ms, no failed call): A {capacity(self.rates, 'A') or 0} calls/s, "
            f"B {capacity(self.rates, 'B') or 0} calls/s",
            "",
        ]
        lines += ["| target | goal | measured | met |", "|---|---|---|---|"]
        for v in self.verdicts():
            met = "n/a" if v.met is None else ("yes" if v.met else "NO")
            lines.append(f"| {v.name} | {v.target} | {v.measured} | {met} |")
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {
            "machine": self.machine,
            "method": self.method,
            "capacity_calls_per_second": {"A": capacity(self.rates, "A"), "B": capacity(self.rates, "B")},
            "rates": [r.to_json() for r in self.rates],
            "audio": self.audio,
            "api": self.api,
            "targets": [v.__dict__ for v in self.verdicts()],
        }
