"""The phone menu speaks the channel's language: Russian and English core sounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from menu_support import dial_menu, trusting_caller_id, wait_heard
from support import wait_until
from voicestatus.app import Service
from voicestatus.asterisk import sounds
from voicestatus.config import Config
from voicestatus.flows import prompts
from voicestatus_dev.analysis import rms_dbfs
from voicestatus_dev.driver import CallDriver
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

pytestmark = pytest.mark.asterisk


@pytest.fixture
def service_config(service_config: Config) -> Config:
    """The driver's Local-channel calls stand for operators' phones by caller ID (see trusting_caller_id)."""
    return trusting_caller_id(service_config)


RU_CONTEXT = "vs-test-menu-ru"
RU_DIALPLAN = f"""
[{RU_CONTEXT}]
exten => s,1,Set(CHANNEL(language)=ru)
 same => n,Stasis(voicestatus,menu)
 same => n,Hangup()
"""
SOUND_EXTENSIONS = (".wav", ".gsm", ".ulaw", ".alaw", ".g722", ".sln16", ".sln")


@pytest.fixture(scope="module")
def ru_context(sandbox: Sandbox) -> str:
    sandbox.add_dialplan("menu-ru", RU_DIALPLAN)
    return RU_CONTEXT


def _sound_exists(root: Path, language: str, name: str) -> bool:
    directory = root / "usr/share/asterisk/sounds" / language
    # The language directories are symlinks inside the chroot; resolve them there.
    while directory.is_symlink():
        target = Path(directory.readlink())
        directory = root / target.relative_to("/") if target.is_absolute() else directory.parent / target
    return any((directory / f"{name}{ext}").is_file() for ext in SOUND_EXTENSIONS)


@pytest.mark.parametrize("language", ["ru", "en"])
def test_every_menu_prompt_exists_in_the_sandbox(sandbox_info: SandboxInfo, language: str) -> None:
    digits = [f"digits/{d}" for d in "0123456789"] + ["digits/star", "digits/pound"]
    missing = [
        name
        for name in (*sounds.MENU_SOUNDS, *digits)
        if not _sound_exists(sandbox_info.root, language, name)
    ]
    assert missing == []


async def test_a_russian_channel_hears_russian_prompts(
    service: Service, driver: CallDriver, ru_context: str
) -> None:
    call, session = await dial_menu(service, driver, "101", exten="s", context=ru_context)
    assert session.language == "ru"
    await call.start_listening()
    await wait_until(
        lambda: session.activity == "waiting-for-key", 30, "the entry announcement and menu to finish"
    )
    heard = await call.stop_listening()
    assert session.last_playback_state == "done", "Asterisk played the Russian prompts"
    assert rms_dbfs(heard) > -40, "the caller heard speech, not silence"
    expected = prompts.state_announcement(has_message=False, active=False) + prompts.main_menu(
        service.config.phone.keys, has_message=False, active=False
    )
    assert session.played == expected, "the same sound names as in English, played in ru"
    await call.dtmf("1")
    await wait_heard(service, call, prompts.RECORD_INSTRUCTIONS)
    await call.hangup()
