"""The web UI in real headless Chromium: what a supervisor and an operator do in a browser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Dialog, Page, Route, expect

from support import free_port
from voicestatus.services.audit import Actor
from web_support import PASSWORD, SPEECH_WAV, Web, start_web, web_config


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    async for running in start_web(web_config(tmp_path, free_port())):
        yield running


async def admin_login(page: Page, web: Web) -> None:
    await page.goto(web.base + "/")
    await page.fill("#username", "alice")
    await page.fill("#password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await expect(page.get_by_role("heading", name="Operators")).to_be_visible()


async def test_supervisor_manages_a_message(page: Page, web: Web, tmp_path: Path, shots: Path) -> None:
    await page.goto(web.base + "/")
    await page.screenshot(path=shots / "01-login.png")
    await admin_login(page, web)
    await page.fill("#open-ext", "101")
    await page.click("form[data-open-extension] button")
    await expect(page).to_have_url(web.base + "/operators/101")

    message = tmp_path / "hello.wav"
    message.write_bytes(SPEECH_WAV)
    card = page.locator("section[data-status='1']")
    await card.locator("input[type=file]").set_input_files(message)
    await card.locator("[data-upload]").click()
    await expect(page.get_by_role("status").first).to_have_text("Message saved.")
    await expect(page.locator("#op-state")).to_contain_text("Callers hear this message now.")
    await page.screenshot(path=shots / "02-uploaded.png", full_page=True)

    await page.click("text=Operators")
    row = page.locator("tr[data-extension='101']")
    await expect(row).to_contain_text("Playing")
    await expect(row).to_contain_text("2.5 s")
    player = row.locator("audio")
    await player.evaluate("a => a.play()")
    await page.wait_for_function(
        "() => document.querySelector(\"tr[data-extension='101'] audio\").currentTime > 0.3", timeout=10_000
    )
    await page.screenshot(path=shots / "03-table.png", full_page=True)

    await row.get_by_role("link", name="Manage").click()
    await page.get_by_test_id("switch-off").click()
    await expect(page.get_by_role("status").first).to_have_text("Message switched off.")
    await expect(page.locator("#op-state")).to_contain_text("Switched off")
    assert (await web.service.messages.playable("101")) is None

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.on("dialog", accept)
    await page.locator("section[data-status='1'] button[value=delete]").click()
    await expect(page.get_by_role("status").first).to_have_text("Message deleted.")
    await expect(page.locator("section[data-status='1']")).to_contain_text("No message")
    await page.screenshot(path=shots / "04-deleted.png", full_page=True)

    await page.click("text=Audit log")
    table = page.locator("table.audit")
    for action in ("message.accept", "message.disable", "message.delete"):
        await expect(table).to_contain_text(action)
    await expect(table).to_contain_text("admin:alice")
    await page.screenshot(path=shots / "05-audit.png", full_page=True)


async def test_operator_sees_only_their_own_row(page: Page, web: Web, shots: Path) -> None:
    await web.service.operators.set_pin("101", "2468", actor=Actor("cli", "t"))
    async with web.api() as client:
        for ext in ("101", "102"):
            assert (await client.put(f"/api/v1/operators/{ext}/messages/1", content=SPEECH_WAV)).is_success
    await page.goto(web.base + "/login?lang=ru")
    await page.fill("#extension", "101")
    await page.fill("#pin", "2468")
    await page.click("form[action='/login/operator'] button[type=submit]")
    await expect(page).to_have_url(web.base + "/operators/101")
    await expect(page.locator("h1")).to_contain_text("101")
    await expect(page.locator("#op-state")).to_contain_text("Звонящие сейчас слышат это сообщение.")
    await page.screenshot(path=shots / "01-operator.png", full_page=True)
    await page.goto(web.base + "/")
    await expect(page).to_have_url(web.base + "/operators/101")
    answer = await page.goto(web.base + "/operators/102")
    assert answer is not None
    assert answer.status == 403
    api = await page.request.get(web.base + "/api/v1/operators")
    assert [item["extension"] for item in (await api.json())["items"]] == ["101"]
    await page.goto(web.base + "/audit")
    await expect(page.locator("table.audit")).not_to_contain_text("102")


async def test_bad_upload_shows_the_error(page: Page, web: Web, tmp_path: Path, shots: Path) -> None:
    await admin_login(page, web)
    await page.goto(web.base + "/operators/103")
    fake = tmp_path / "notes.wav"
    fake.write_text("meeting notes, not a recording\n" * 50)
    card = page.locator("section[data-status='1']")
    await card.locator("input[type=file]").set_input_files(fake)
    await card.locator("[data-upload]").click()
    status = card.locator("[data-status-text]")
    await expect(status).to_have_class("upload-status error")
    await expect(status).to_contain_text("This is not an audio file we can read")
    await page.screenshot(path=shots / "01-bad-upload.png", full_page=True)
    assert await web.service.messages.current("103", 1) is None


async def test_api_docs_work_without_internet(page: Page, web: Web, shots: Path) -> None:
    """A PBX may have no route out: the docs page loads nothing but this service's own files."""
    foreign: list[str] = []
    console_errors: list[str] = []

    async def only_local(route: Route) -> None:
        if route.request.url.startswith(web.base):
            await route.continue_()
        else:
            foreign.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_local)
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    await admin_login(page, web)
    await page.goto(web.base + "/api/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("voicestatus")
    listing = page.locator(".opblock-summary-path[data-path='/api/v1/operators']").first
    await expect(listing).to_be_visible()
    await listing.click()
    await page.get_by_role("button", name="Try it out").click()
    await page.get_by_role("button", name="Execute").click()
    await expect(page.locator(".live-responses-table tr.response .response-col_status")).to_have_text("200")
    await page.screenshot(path=shots / "api-docs.png", full_page=True)
    assert foreign == []
    assert console_errors == []
