"""Helpers for the caller-path tests: a service with its own config, messages, listening."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

from support import wait_until
from voicestatus.app import Service
from voicestatus.ari.models import StasisStart
from voicestatus.asterisk.dialplan import render_dialplan
from voicestatus.audio.pcm import Pcm
from voicestatus.audio.wav import encode_wav
from voicestatus.config import Config
from voicestatus.flows.session import CallSession
from voicestatus.services.audit import Actor
from voicestatus.services.messages import MessageView
from voicestatus_dev.analysis import concat, tone
from voicestatus_dev.driver import CallDriver, DriverCall
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

MARKER_HZ = 1400
BODY_HZ = 600
AFTER_HZ = 1800

# Test contexts next to the generated dialplan (etc/extra/caller-tests.conf).
TEST_DIALPLAN = """
[vs-test-after]
; Where a call goes when the flow continues in the dialplan (like voicemail, it
; answers): a known tone.
exten => s,1,Answer()
 same => n,Playtones(!1800/900)
 same => n,Wait(1.5)
 same => n,Hangup()

[vs-test-next]
; Stasis followed by a next priority the test can hear.
exten => _X.,1,Stasis(voicestatus,unavailable,${EXTEN},busy)
 same => n,Goto(vs-test-after,s,1)

[vs-test-exttocall]
exten => _X.,1,Set(EXTTOCALL=${EXTEN})
 same => n,Goto(voicestatus-unavailable,s,1)

[vs-test-connected]
exten => _X.,1,Set(CONNECTEDLINE(num,i)=${EXTEN})
 same => n,Goto(voicestatus-unavailable,s,1)

[vs-test-arg]
; The operator argument exactly as the test passes it in VS_ARG.
exten => s,1,Stasis(voicestatus,unavailable,${VS_ARG})
 same => n,GotoIf($["${VOICESTATUS_FAILED}" = "1"]?voicestatus-unavailable,s,1)
 same => n,Hangup()
"""


def with_sections(config: Config, **sections: dict[str, Any]) -> Config:
    """``config`` with fields of some sections replaced (e.g. caller={...})."""
    changes = {
        name: dataclasses.replace(getattr(config, name), **values) for name, values in sections.items()
    }
    return config.replace(**changes)


def marked_message() -> Pcm:
    """300 ms of a marker tone, then 1.5 s of the body tone."""
    return concat(tone(MARKER_HZ, 0.3), tone(BODY_HZ, 1.5))


async def publish(service: Service, extension: str = "101") -> MessageView:
    audio = await service.messages.process_upload(encode_wav(marked_message().samples, 8000))
    return await service.messages.publish(extension, 1, audio, actor=Actor("admin", "tests"))


async def heard(call: DriverCall, seconds: float = 15, answer_timeout: float = 15) -> Pcm:
    """What the caller hears from the moment of answer until hang-up (or ``seconds``)."""
    # Answered can be seen (ChannelStateChange) just before the phone end enters the
    # driver's Stasis app, and only then can it be recorded.
    await call.wait_event(StasisStart, answer_timeout)
    return await call.listen(seconds)


def capture_sessions(service: Service) -> list[CallSession]:
    """Every session the caller path runs from now on (kept after the call ends)."""
    seen: list[CallSession] = []
    flow = service.router.flows["unavailable"]

    async def recording_flow(call: CallSession) -> None:
        seen.append(call)
        await flow(call)

    service.router.flows["unavailable"] = recording_flow
    return seen


async def first_session(sessions: list[CallSession]) -> CallSession:
    await wait_until(lambda: bool(sessions), 15, "the call to reach the service")
    return sessions[0]


def counter(service: Service, name: str, **labels: str) -> float:
    return service.metrics.registry.get_sample_value(f"{name}_total", labels) or 0.0


async def dial(driver: CallDriver, extension: str, context: str, **variables: str) -> DriverCall:
    return await driver.call(extension, context, caller_id="200", variables=variables or None)


@contextlib.contextmanager
def colocated(config: Config, sandbox: Sandbox, info: SandboxInfo) -> Iterator[Config]:
    """``config`` as a service on the Asterisk host: mirror files and AstDB keys on.

    Loads the matching dialplan, and removes every mirror file and key afterwards.
    """
    mirrored = with_sections(
        config,
        asterisk={
            "sounds_dir": str(info.sounds_dir),
            "ami_url": f"tcp://{info.ami_host}:{info.ami_port}",
            "ami_username": info.ami_username,
            "ami_password": info.ami_password,
        },
    )
    sandbox.set_dialplan(render_dialplan(mirrored, "asterisk"))
    try:
        yield mirrored
    finally:
        sandbox.cli("database deltree voicestatus")
        for path in (info.sounds_dir / "voicestatus").glob("*.wav"):
            path.unlink()


def astdb(sandbox: Sandbox) -> str:
    """The product's AstDB family as Asterisk shows it."""
    return sandbox.cli("database show voicestatus")
