#!/usr/bin/env python3
"""Write deploy/voicestatus.service from the unit text in voicestatus.cli.install.

The unit lives in one place (the package, where `voicestatus install` fills
it from the configuration); this copy with the defaults is for people who
deploy by hand, and tests/unit/test_deploy_unit.py fails when it drifts.
Run: .venv/bin/python scripts/generate-unit.py
"""

from __future__ import annotations

from pathlib import Path

from voicestatus.cli.install import deploy_unit_text

TARGET = Path(__file__).resolve().parents[1] / "deploy" / "voicestatus.service"

if __name__ == "__main__":
    TARGET.write_text(deploy_unit_text(), encoding="utf-8")
    print(f"wrote {TARGET}")
