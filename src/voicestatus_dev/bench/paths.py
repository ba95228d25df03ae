"""The two caller paths under test, set up on the sandbox Asterisk.

(A) is the legacy installation's own answer: an AstDB flag ``op_alert/<ext>`` and
``Playback`` of a local file, all inside Asterisk. (B) is the product:
``voicestatus-unavailable`` from the generated dialplan, ``Stasis`` into our
service, which plays the operator's message from its HTTP media store.
Both play the very same processed 3 s message, starting with sound at its
first sample, so the figures compare the paths and not the audio.
"""

from __future__ import annotations

import numpy as np

from voicestatus.asterisk.dialplan_text import UNAVAILABLE_CONTEXT
from voicestatus.audio.pcm import Pcm
from voicestatus.audio.process import ProcessedAudio, ProcessingSettings, process_recording
from voicestatus_dev.sandbox import Sandbox, SandboxInfo

OPERATOR = "101"
MESSAGE_SECONDS = 3.0
LEGACY_CONTEXT = "vs-bench-legacy"
LEGACY_SOUND = "vs-bench/message"
# Where the caller half runs. A phone sends audio as soon as it is answered,
# and Asterisk waits up to 500 ms for that first frame after answering, so
# the caller half plays (core-sound) silence, as a phone's RTP stream would.
CALLER_CONTEXT = "vs-bench-caller"


def bench_dialplan() -> str:
    """The legacy caller path (keyed by ``${EXTEN}`` instead of CONNECTEDLINE) and the caller half."""
    return "\n".join(
        [
            f"[{CALLER_CONTEXT}]",
            "exten => s,1,Playback(silence/10)",
            " same => n,Hangup()",
            "",
            f"[{LEGACY_CONTEXT}]",
            "exten => _X.,1,NoOp(operator alert)",
            f' same => n,ExecIf($["${{DB(op_alert/${{EXTEN}})}}"="true"]?Playback({LEGACY_SOUND}))',
            " same => n,Hangup()",
            "",
        ]
    )


def message_audio(seconds: float = MESSAGE_SECONDS) -> ProcessedAudio:
    """A voice-band signal, loud from its first sample, processed like any recording."""
    rate = 8000
    t = np.arange(round(seconds * rate)) / rate
    carrier = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 470.0, 730.0, 1190.0))
    envelope = 0.7 + 0.3 * np.sin(2 * np.pi * 3.0 * t)
    samples = (0.15 * carrier * envelope).astype(np.float32)
    return process_recording(Pcm(samples, rate), ProcessingSettings())


def endpoints(extension: str = OPERATOR) -> dict[str, str]:
    """The Local channel endpoint each path is called through."""
    return {
        "A": f"Local/{extension}@{LEGACY_CONTEXT}",
        "B": f"Local/{extension}@{UNAVAILABLE_CONTEXT}",
    }


def install_legacy_path(sandbox: Sandbox, info: SandboxInfo, audio: ProcessedAudio) -> None:
    """Write (A)'s sound file, dialplan and AstDB flag into the sandbox."""
    directory = info.sounds_dir / LEGACY_SOUND.rpartition("/")[0]
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (LEGACY_SOUND.rpartition("/")[2] + ".wav")
    target.write_bytes(audio.wav8k)
    sandbox.add_dialplan("bench", bench_dialplan())
    sandbox.cli(f"database put op_alert {OPERATOR} true")
