"""``voicestatus bench`` end to end at a tiny scale, against the real sandbox.

Only checks that every part of the report is there and filled with
numbers; the figures themselves come from ``make bench`` on a quiet machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicestatus.cli import main

pytestmark = pytest.mark.asterisk


def test_bench_reports_every_section_with_numbers(tmp_path: Path) -> None:
    name = os.environ.get("VOICESTATUS_TEST_SANDBOX", "pytest") + "-bench"
    output = tmp_path / "results.json"
    result = CliRunner().invoke(
        main,
        ["bench", "--rates", "5,10", "--seconds", "2", "--operators", "500",
         "--name", name, "--output", str(output)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Capacity (p99 < 200 ms, no failed call)" in result.output
    data = json.loads(output.read_text())
    assert data["machine"]["cores"]
    assert data["machine"]["asterisk"].startswith("Asterisk")
    rates = {(r["path"], r["rate"]): r for r in data["rates"]}
    assert set(rates) == {("A", 5), ("A", 10), ("B", 5), ("B", 10)}
    for (path, _rate), row in rates.items():
        assert row["calls"] > 0
        assert row["failures"] == 0, row["failure_kinds"]
        assert isinstance(row["p50_ms"], float)
        assert isinstance(row["p99_ms"], float)
        assert isinstance(row["asterisk_cpu_ms_per_call"], float)
        if path == "B":
            assert isinstance(row["service_cpu_ms_per_call"], float)
            assert isinstance(row["service_rss_kb_per_call"], float)
    assert set(data["audio"]) == {"recording_wav8k_ms", "upload_mp3_ms", "upload_webm_opus_ms"}
    assert all(ms > 0 for ms in data["audio"].values())
    assert data["api"]["operators_total"] >= 500  # plus the operator with the message
    assert data["api"]["errors"] == 0
    assert isinstance(data["api"]["p95_ms"], float)
    assert {t["name"] for t in data["targets"]} >= {"capacity B / A", "service memory per concurrent call"}
