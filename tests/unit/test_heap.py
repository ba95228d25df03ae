"""Freezing the start-up heap: later full collections walk only what came after.

Runs in a child interpreter: freezing is a whole-process decision and must
not touch the test session's own heap.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
import voicestatus.app  # the service's whole import graph
from voicestatus.heap import freeze_startup_heap
before = len(gc.get_objects())
frozen = freeze_startup_heap()
after_freeze = len(gc.get_objects())
garbage = []
for _ in range(1000):
    node = {}
    node["self"] = node
    garbage.append(node)
del garbage, node
collected = gc.collect()
print(json.dumps({"before": before, "frozen": frozen, "after": after_freeze, "collected": collected}))
"""


def test_startup_objects_leave_the_collectors_passes_and_new_garbage_is_still_collected() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    figures = json.loads(result.stdout)
    assert figures["before"] > 50_000, figures
    assert figures["frozen"] >= figures["before"] * 0.9, figures
    assert figures["after"] < 1_000, figures
    assert figures["collected"] >= 1_000, "cyclic garbage made after the freeze must still be collected"
