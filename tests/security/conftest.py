"""The hostile-input tier: counts of values tried, printed and checked at the end of the session."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator

import pytest

from hostile_support import MINIMUMS, TALLY, HostileWeb, seed, shortfalls
from support import free_port
from web_support import start_web, web_config


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    terminalreporter.section("hostile inputs tried")
    for category in MINIMUMS:
        terminalreporter.write_line(f"{category:>18}: {TALLY[category]:5d} (planned >= {MINIMUMS[category]})")
    terminalreporter.write_line(f"{'total':>18}: {sum(TALLY.values()):5d} (planned >= 500)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """When every category ran, a shortfall fails the session: the >= 500 promise is checked."""
    if not TALLY or any(TALLY[c] == 0 for c in MINIMUMS):
        return  # a partial run (-k, one file): counts are printed, not judged
    if shortfalls() and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("hostile-input tier tried fewer values than planned:", "; ".join(shortfalls()))


@pytest.fixture(scope="module")
async def hostile_web(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[HostileWeb]:
    """One service for a whole module; the system temp directory points into its root too.

    Login attempts are generous so hostile logins reach the password check
    instead of stopping at the rate limit.
    """
    root = tmp_path_factory.mktemp("hostile-web")
    (root / "tmp").mkdir()
    config = web_config(root, free_port(), login_attempts=100_000)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(root / "tmp"))
        async for web in start_web(config):
            await seed(web)
            yield HostileWeb(web, root, web.token)
