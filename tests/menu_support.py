"""The operator's phone menu on the real sandbox Asterisk, driven like a phone.

Every test dials the feature code with the call driver and presses keys as
soon as the prompt they answer is being played (the flow buffers key
presses and stops an interruptible prompt on a key), so the paths run at
the speed of a practised operator. The helpers here are shared by the
other ``test_menu_*`` files.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

import numpy as np
import pyloudnorm

from support import wait_until
from voicestatus.app import Service
from voicestatus.audio.decode import read_wav
from voicestatus.audio.wav import encode_wav
from voicestatus.config import Config
from voicestatus.flows import prompts
from voicestatus.flows.session import CallSession
from voicestatus.services.audit import Actor
from voicestatus.services.messages import MessageView
from voicestatus_dev.analysis import detect_tones, tone
from voicestatus_dev.driver import CallDriver, DriverCall

MENU = "voicestatus-menu"
ADMIN = Actor("admin", "test")
TONES = [500, 600, 700, 800, 900, 1000]


# -- helpers (also used by test_menu_login.py and test_menu_language.py) ---------------


def session_of(service: Service, call: DriverCall) -> CallSession | None:
    """The service's side of a driver call (the ``;2`` half of the Local pair)."""
    return service.router.sessions.get(f"{call.id}-2")


async def wait_heard(
    service: Service, call: DriverCall, prompt: str, *, count: int = 1, timeout: float = 30
) -> CallSession:
    """Wait until the flow has started playing ``prompt`` at least ``count`` times."""
    found: list[CallSession] = []

    def started() -> bool:
        session = session_of(service, call) or (found[0] if found else None)
        if session is not None and not found:
            found.append(session)
        return session is not None and session.played.count(prompt) >= count

    await wait_until(started, timeout, f"{prompt} played {count} time(s)")
    return found[0]


async def wait_activity_of(
    service: Service, call: DriverCall, activity: str, timeout: float = 30
) -> CallSession:
    def doing() -> bool:
        session = session_of(service, call)
        return session is not None and session.activity == activity

    await wait_until(doing, timeout, f"the call to reach {activity!r}")
    session = session_of(service, call)
    assert session is not None
    return session


async def poll(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10) -> None:
    """Bounded poll of an async condition."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


async def dial_menu(
    service: Service,
    driver: CallDriver,
    caller: str = "101",
    *,
    exten: str = "*600",
    context: str = MENU,
    variables: dict[str, str] | None = None,
) -> tuple[DriverCall, CallSession]:
    """Dial the feature code and wait until the flow is talking to us."""
    call = await driver.call(exten, context, caller_id=caller, variables=variables)
    await call.wait_answered()
    await wait_until(lambda: session_of(service, call) is not None, 15, "the menu to take the call")
    session = session_of(service, call)
    assert session is not None
    await wait_until(lambda: bool(session.played), 15, "the first prompt")
    return call, session


async def record_tone(service: Service, call: DriverCall, session: CallSession, audio_freq: float) -> None:
    """Press record, speak a tone after the beep, end with #, wait for the review menu."""
    reviews = session.played.count(prompts.review_menu(service.config.phone.keys)[0])
    await call.dtmf("1")
    await speak(service, call, session, audio_freq)
    await wait_heard(service, call, prompts.review_menu(service.config.phone.keys)[0], count=reviews + 1)


async def speak(service: Service, call: DriverCall, session: CallSession, freq: float) -> None:
    await wait_activity_of(service, call, "recording")
    await call.say(tone(freq, 2.0))
    await call.dtmf("#")


async def stored_recordings(service: Service) -> list[str]:
    """Names of the service's recordings still stored on Asterisk."""
    response = await service.ari.request("GET", "/recordings/stored")
    return [r["name"] for r in response.json() if str(r.get("name", "")).startswith("voicestatus-")]


async def seed_message(service: Service, extension: str, freq: float) -> MessageView:
    """Give an operator a live message the way any accept does (processed, stored)."""
    audio = await service.messages.process_phone_recording(encode_wav(tone(freq, 2.0).samples, 8000))
    return await service.messages.publish(extension, 1, audio, actor=ADMIN)


def heard_tone(wav: bytes, freq: float) -> float:
    others = [f for f in TONES if f != freq]
    found = detect_tones(read_wav(wav), [freq, *others])
    assert all(found[f] < 0.2 for f in others), found
    return found[freq]


def loudness(wav: bytes) -> float:
    pcm = read_wav(wav)
    return float(pyloudnorm.Meter(pcm.rate).integrated_loudness(pcm.samples.astype(np.float64)))


async def audit_actions(service: Service, extension: str = "101") -> list[str]:
    entries, _ = await service.audit.list(extension=extension)
    return sorted(e.action for e in entries)


async def start_listening_to_message(call: DriverCall, session: CallSession) -> None:
    """Record what the caller hears once the flow plays a message from the media server."""
    await wait_until(
        lambda: any(item.startswith("sound:http") for item in session.played), 15, "the message to play"
    )
    await call.start_listening()


async def leave(call: DriverCall) -> None:
    await call.dtmf("*")
    await call.wait_hangup(15)


def trusting_caller_id(config: Config) -> Config:
    """``config`` with ``[phone] identify = "callerid"``.

    The call driver places Local channels, which no SIP endpoint
    authenticated, so with the default (identify by endpoint) nobody would
    be "on 101's phone". Tests that stand for an operator's phone with a
    caller ID therefore say so: they trust the caller ID, as a site must
    choose to. The default is proven with real softphones in
    tests/integration/test_menu_identity.py.
    """
    return config.replace(phone=dataclasses.replace(config.phone, identify="callerid"))


# -- record and review ----------------------------------------------------------------
