"""``voicestatus bench``: the caller path against the legacy installation's pure dialplan, and more.

The product puts a Python service into a caller's path where a legacy
installation had two dialplan lines; this package measures, on one machine and in one run,
what that costs a caller (first-audio latency from Asterisk's own event
timestamps), where each path saturates, the CPU and memory per call, how
long audio processing takes and how fast the operator list API answers.
"""

from __future__ import annotations

from voicestatus_dev.bench.report import Report
from voicestatus_dev.bench.runner import BenchOptions, run_bench

__all__ = ["BenchOptions", "Report", "run_bench"]
