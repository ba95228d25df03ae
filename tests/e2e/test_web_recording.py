"""Recording a message in the browser, the way an operator at a desk does it.

Chromium is given a microphone that plays a known file
(``--use-file-for-fake-audio-capture``), so the test can check that what was
said into the browser is what callers will hear: MediaRecorder's WebM/Opus,
uploaded, decoded and processed like any recording.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from browser_support import CHROMIUM, CHROMIUM_ARGS
from support import free_port
from voicestatus.audio.decode import read_wav
from voicestatus.audio.wav import encode_wav
from voicestatus_dev.analysis import concat, detect_tones, silence, tone
from web_support import PASSWORD, Web, start_web, web_config

MIC_TONE_HZ = 700.0


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    async for running in start_web(web_config(tmp_path, free_port())):
        yield running


@pytest.fixture
async def mic_page(tmp_path: Path) -> AsyncIterator[Page]:
    """A Chromium whose microphone says: 700 Hz for 0.8 s, 0.2 s pause, over and over."""
    spoken = concat(tone(MIC_TONE_HZ, 0.8, rate=48000, amplitude=0.3), silence(0.2, rate=48000))
    mic = tmp_path / "mic.wav"
    mic.write_bytes(encode_wav(spoken.samples, spoken.rate))
    async with async_playwright() as pw:
        browser: Browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={mic}"]
        )
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
            yield await context.new_page()
        finally:
            await browser.close()


async def test_operator_records_reviews_and_saves_in_the_browser(
    mic_page: Page, web: Web, shots: Path
) -> None:
    page = mic_page
    await page.goto(web.base + "/")
    await page.fill("#username", "alice")
    await page.fill("#password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.goto(web.base + "/operators/101")
    card = page.locator("section[data-status='1']")

    await card.locator("[data-record]").click()
    await expect(card.locator("[data-stop]")).to_be_visible()
    await expect(card.locator("[data-rec-time]")).to_have_text("0:03", timeout=15_000)
    await page.screenshot(path=shots / "01-recording.png", full_page=True)
    await card.locator("[data-stop]").click()

    review = card.locator("[data-review]")
    await expect(review).to_be_visible()
    await expect(review.locator("[data-review-length]")).to_have_text(re.compile(r"^0:0[3-9]$"))
    assert await web.service.messages.playable("101") is None, "nothing goes live before Save"
    await page.screenshot(path=shots / "02-review.png", full_page=True)
    await review.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status").first).to_have_text("Message saved.")
    await expect(page.locator("#op-state")).to_contain_text("Callers hear this message now.")

    message = await web.service.messages.playable("101")
    assert message is not None
    assert 2.0 <= message.duration <= 6.0, message.duration
    heard = read_wav(web.service.media.path(message.sha256, "wav").read_bytes())
    assert detect_tones(heard, [MIC_TONE_HZ])[MIC_TONE_HZ] >= 1.5, "callers hear what was said"
