"""The generated dialplan loads into the real Asterisk cleanly, for both targets."""

from __future__ import annotations

import re

import pytest

from voicestatus.asterisk.dialplan import TARGETS, Target, render_dialplan
from voicestatus.config import Config
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

pytestmark = pytest.mark.asterisk

_PROBLEM = re.compile(r"\] (WARNING|ERROR)\[[^\]]*\][^:]*: (pbx|config|ael|extensions)", re.IGNORECASE)


@pytest.mark.parametrize("target", TARGETS)
def test_generated_dialplan_loads_without_warnings(
    sandbox: Sandbox, sandbox_info: SandboxInfo, target: Target
) -> None:
    before = sandbox_info.log_file.stat().st_size
    try:
        sandbox.set_dialplan(render_dialplan(Config(), target))
        with sandbox_info.log_file.open(encoding="utf-8", errors="replace") as log:
            log.seek(before)
            # The sandbox's own phones context includes the Dial wrapper, which only the
            # plain-Asterisk target has; that warning is about the sandbox, not this file.
            problems = [line for line in log if _PROBLEM.search(line) and "'sandbox-" not in line]
        assert problems == []
        shown = sandbox.cli("dialplan show voicestatus-unavailable")
        assert "'s' =>" in shown
        assert "'_X.' =>" in shown
        assert "Stasis(voicestatus,unavailable," in shown
        menu = sandbox.cli("dialplan show voicestatus-menu")
        assert "'*600' (CID match '_1XX') =>" in menu
    finally:
        sandbox.set_dialplan(render_dialplan(Config(), "asterisk"))
