"""A real SIP softphone (PJSUA2) driven over stdin/stdout, one JSON command per line.

It runs in its own process so PJSIP's threads and C state never meet the
test's event loop. All SIP work and every Python callback run on this
process's main thread (``threadCnt = 0``, ``mainThreadOnly``), polled by
``libHandleEvents`` between commands; PJMEDIA's own media and clock threads
move the audio and never call into Python. There is no sound card: the null
audio device clocks the conference bridge in real time.

Like a desk phone it sends RTP continuously (no VAD), and it records what it
hears from the moment the call's media comes up (the 200 OK), so nothing the
far end plays right after answering is missed by a late "record" command.

Commands (each answered by one JSON line with ``"ok"``):

    {"cmd": "register", "user": "101", "password": "...", "server": "127.0.0.1:15060"}
    {"cmd": "call", "to": "*600", "timeout": 30, "record": "/path.wav"}
                                          -> waits until answered; records if asked
    {"cmd": "dtmf", "digits": "1#"}       -> RFC 4733 DTMF
    {"cmd": "play", "wav": "/path.wav"}   -> speak a WAV into the call; returns once it
                                             has all been sent (its length in real time)
    {"cmd": "wait_disconnect", "timeout": 30}
                                          -> the far end hung up; the recording is closed
    {"cmd": "hangup"} / {"cmd": "quit"}

Incoming calls ring (180) and are never answered, like an operator away from
the desk; ``{"cmd": "ringing"}`` says how many have rung. Replies to ``call``
and ``wait_disconnect`` carry ``record_offset``: seconds from the answer to
the first recorded frame.
"""

from __future__ import annotations

import json
import select
import sys
import time
import wave
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

WAV_HEADER = 44


def wav_complete(path: str) -> bool:
    """True once PJMEDIA has written the WAV's final header (the RIFF size fits the file).

    PJMEDIA buffers the samples and writes the real sizes only when the
    recorder's port is torn down, which the conference bridge's clock thread
    does some frames after the recorder is destroyed; until then the file may
    hold just the 44-byte placeholder header. A recorder writes every frame
    (silence too), so a finished recording of an answered call is never empty.
    """
    try:
        with open(path, "rb") as wav:
            head = wav.read(8)
            size = wav.seek(0, 2)
    except OSError:
        return False
    riff_size = int.from_bytes(head[4:], "little") if head[:4] == b"RIFF" else -1
    return size > WAV_HEADER and riff_size + 8 == size


def trace(what: str) -> None:
    """One timestamped line on stderr (pytest shows it when a test fails)."""
    print(f"softphone {time.monotonic():.3f} {what}", file=sys.stderr, flush=True)


class Call(pj.Call):  # type: ignore[misc]
    """One call; the camelCase methods are PJSUA2's callbacks."""

    def __init__(self, account: pj.Account, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(account, call_id)
        self.answered_at: float | None = None
        self.disconnected = False
        self.media: pj.AudioMedia | None = None
        self.record_path = ""
        self.recorder: pj.AudioMediaRecorder | None = None
        self.record_started_at: float | None = None
        self.players: list[pj.AudioMediaPlayer] = []

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        trace(f"call state {info.stateText} {info.lastStatusCode}")
        answered = (pj.PJSIP_INV_STATE_CONNECTING, pj.PJSIP_INV_STATE_CONFIRMED)
        if info.state in answered and self.answered_at is None:  # the 200 OK
            self.answered_at = time.monotonic()
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.disconnected = True

    def onCallMediaState(self, prm: Any) -> None:
        info = self.getInfo()
        for index, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self.media = self.getAudioMedia(index)
                trace(f"audio media active (slot {self.media.getPortId()})")
                if self.record_path and self.recorder is None:
                    self.recorder = pj.AudioMediaRecorder()
                    self.recorder.createRecorder(self.record_path)
                    self.media.startTransmit(self.recorder)
                    self.record_started_at = time.monotonic()

    def close_recorder(self) -> None:
        """Stop recording (see ``Phone.finish_recording``)."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            if self.media is not None and not self.disconnected:
                self.media.stopTransmit(recorder)
            del recorder

    def record_offset(self) -> float | None:
        if self.answered_at is None or self.record_started_at is None:
            return None
        return round(max(0.0, self.record_started_at - self.answered_at), 3)


class Account(pj.Account):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.reg_code: int | None = None
        self.incoming: list[Call] = []

    def onRegState(self, prm: Any) -> None:
        self.reg_code = prm.code

    def onIncomingCall(self, prm: Any) -> None:
        call = Call(self, prm.callId)
        ringing = pj.CallOpParam()
        ringing.statusCode = pj.PJSIP_SC_RINGING
        call.answer(ringing)
        self.incoming.append(call)
        trace("incoming call: ringing, not answering")


class Phone:
    def __init__(self) -> None:
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.medConfig.noVad = True
        cfg.logConfig.level = 0
        cfg.logConfig.consoleLevel = 0
        self.ep.libInit(cfg)
        transport = pj.TransportConfig()
        transport.port = 0
        transport.boundAddress = "127.0.0.1"
        self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
        self.ep.libStart()
        self.ep.audDevManager().setNullDev()
        self.account: Account | None = None
        self.server = ""
        self.call: Call | None = None

    def poll(self) -> None:
        self.ep.libHandleEvents(10)

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            self.poll()
        return True

    def finish_recording(self, call: Call) -> bool:
        """Close the call's recorder and wait for its WAV file to be complete."""
        call.close_recorder()
        return not call.record_path or self.wait(lambda: wav_complete(call.record_path), 3)

    def register(self, user: str, password: str, server: str) -> dict[str, Any]:
        cfg = pj.AccountConfig()
        cfg.idUri = f"sip:{user}@{server}"
        cfg.regConfig.registrarUri = f"sip:{server}"
        cfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", user, 0, password))
        # RTP on loopback too: the sandbox only talks to 127.0.0.1.
        cfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
        cfg.mediaConfig.transportConfig.publicAddress = "127.0.0.1"
        account = self.account = Account()
        account.create(cfg)
        self.server = server
        self.wait(lambda: account.reg_code is not None, 10)
        return {"ok": account.reg_code == pj.PJSIP_SC_OK, "code": account.reg_code}

    def dial(self, to: str, timeout: float, record: str) -> dict[str, Any]:
        assert self.account is not None
        call = self.call = Call(self.account)
        call.record_path = record
        call.makeCall(f"sip:{to}@{self.server}", pj.CallOpParam(True))
        self.wait(lambda: call.answered_at is not None or call.disconnected, timeout)
        self.wait(lambda: call.media is not None or call.disconnected, 5)
        answered = call.answered_at is not None and call.media is not None
        return {"ok": answered, "disconnected": call.disconnected, "record_offset": call.record_offset()}

    def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        name = command["cmd"]
        if name == "register":
            return self.register(command["user"], command["password"], command["server"])
        if name == "call":
            return self.dial(command["to"], float(command.get("timeout", 30)), command.get("record", ""))
        if name == "ringing":
            return {"ok": True, "count": len(self.account.incoming) if self.account else 0}
        call = self.call
        if call is None:
            return {"ok": False, "error": "no call"}
        if name == "dtmf":
            call.dialDtmf(command["digits"])
            return {"ok": True}
        if name == "play" and call.media is not None and not call.disconnected:
            player = pj.AudioMediaPlayer()
            player.createPlayer(command["wav"], pj.PJMEDIA_FILE_NO_LOOP)
            player.startTransmit(call.media)
            call.players.append(player)
            with wave.open(command["wav"]) as wav:
                seconds = wav.getnframes() / wav.getframerate()
            # Real time: the bridge's clock sends the file at 1x; then one more frame.
            self.wait(lambda: call.disconnected, seconds + 0.04)
            return {"ok": not call.disconnected, "seconds": seconds}
        if name == "wait_disconnect":
            gone = self.wait(lambda: call.disconnected, float(command.get("timeout", 30)))
            complete = self.finish_recording(call)
            return {"ok": gone and complete, "record_offset": call.record_offset()}
        if name == "hangup":
            if not call.disconnected:
                call.hangup(pj.CallOpParam(True))
                self.wait(lambda: call.disconnected, 5)
            return {"ok": self.finish_recording(call)}
        if name == "dump":
            return {"ok": True, "dump": call.dump(True, "  ")}
        return {"ok": False, "error": f"cannot {name} now"}

    def close(self) -> None:
        """Hang up, unregister (so Asterisk forgets this contact) and shut PJSIP down."""
        if self.call is not None:
            self.handle({"cmd": "hangup"})
            self.call.players.clear()
        self.call = None
        account = self.account
        if account is not None and account.reg_code == pj.PJSIP_SC_OK:
            account.reg_code = None
            account.setRegistration(False)
            self.wait(lambda: account.reg_code is not None, 2)
        self.account = None
        self.ep.libDestroy(pj.PJSUA_DESTROY_NO_NETWORK)


def main() -> None:
    phone = Phone()
    print(json.dumps({"ready": True}), flush=True)
    while True:
        readable, _, _ = select.select([sys.stdin], [], [], 0)
        if not readable:
            phone.poll()
            continue
        line = sys.stdin.readline()
        if not line:
            break
        command = json.loads(line)
        if command["cmd"] == "quit":
            break
        trace(f"command {command['cmd']}")
        try:
            reply = phone.handle(command)
        except pj.Error as exc:
            reply = {"ok": False, "error": exc.info()}
        print(json.dumps(reply), flush=True)
    phone.close()


if __name__ == "__main__":
    main()
