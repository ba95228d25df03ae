"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Playwright's own browser downloads are never used: the tests launch the
system Chromium that ``make test`` installs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from browser_support import CHROMIUM, CHROMIUM_ARGS
from softphone import Softphone
from voicestatus_dev.sandbox import SandboxInfo


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    tab = await context.new_page()
    try:
        yield tab
    finally:
        await context.close()


@pytest.fixture
def shots(artifacts_dir: Path, request: pytest.FixtureRequest) -> Path:
    """Where this test's screenshots go (test-artifacts/<test name>/)."""
    name: str = request.node.name
    path = artifacts_dir / name.replace("/", "_")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
async def phones(sandbox_info: SandboxInfo) -> AsyncIterator[dict[str, Softphone]]:
    """Softphones 101 (an operator) and 102 (a colleague), registered as their own endpoints."""
    server = f"{sandbox_info.sip_host}:{sandbox_info.sip_port}"
    passwords = {a.extension: a.password for a in sandbox_info.accounts}
    started: dict[str, Softphone] = {}
    try:
        for ext in ("101", "102"):
            started[ext] = await Softphone.start()
            await started[ext].register(ext, passwords[ext], server)
        yield started
    finally:
        for phone in started.values():
            await phone.close()
