"""The operator's phone menu: ``Stasis(voicestatus,menu[,<extension>])``.

The legacy installation's two-key IVR, done properly: the operator is identified strictly,
hears whether a message is playing, and can record with review, listen,
delete and switch the message on or off. A recording goes live only when
the operator presses accept; hanging up before that throws it away and
leaves the old message as it was.

Who is calling: by default the channel's authenticated endpoint
(``PJSIP/<endpoint>-<8 hex>``; on FreePBX the endpoint is the extension).
``CALLERID(num)`` is set by whoever is upstream (a trunk, a transfer, a phone
without a fixed caller ID), so it identifies the operator only when
``[phone] identify = "callerid"`` says to trust it; the optional
``<extension>`` argument of the Stasis call counts as such a claim too. Only
a PIN-less operator calling from their own phone skips the PIN; everyone else
types extension and PIN, each try counted by the :class:`PinGuard` (shared
with the web login) before the PIN is verified.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from voicestatus.audio.errors import AudioRejected
from voicestatus.audio.process import ProcessedAudio
from voicestatus.config import Config
from voicestatus.errors import AriError
from voicestatus.flows import prompts
from voicestatus.flows.session import CallSession
from voicestatus.services.audit import Actor
from voicestatus.services.extensions import is_valid_extension
from voicestatus.services.messages import MessageService
from voicestatus.services.operators import OperatorService
from voicestatus.services.pin_guard import PinCheck, PinGuard
from voicestatus.services.pins import PIN_MAX_DIGITS

log = logging.getLogger(__name__)

# Asterisk names a SIP channel after the endpoint that authenticated it:
# "PJSIP/%s-%08x" (chan_sip: "SIP/%s-%08x"). Nothing the caller sends changes it.
_ENDPOINT_CHANNEL = re.compile(r"(?:PJSIP|SIP)/(?P<endpoint>[^/]+)-[0-9a-f]{8}", re.ASCII)


def channel_endpoint(channel_name: str) -> str | None:
    """The authenticated SIP endpoint a channel belongs to; None for Local and other channels."""
    match = _ENDPOINT_CHANNEL.fullmatch(channel_name)
    return match.group("endpoint") if match else None


@dataclass(frozen=True)
class _State:
    status: int
    has_message: bool
    active: bool
    enabled: bool
    sha256: str | None


class MenuFlow:
    """One instance serves every menu call; per-call state lives on the stack."""

    def __init__(
        self,
        config: Config,
        operators: OperatorService,
        messages: MessageService,
        guard: PinGuard,
        *,
        media_url: Callable[[str], str],
    ) -> None:
        self.config = config
        self.phone = config.phone
        self.keys = config.phone.keys
        self.operators = operators
        self.messages = messages
        # sha256 -> the URL Asterisk fetches a stored message from (``web.media.media_url``).
        self.media_url = media_url
        self.guard = guard
        self.default_status = config.statuses[0].digit
        self.status_digits = [str(s.digit) for s in config.statuses]

    async def __call__(self, call: CallSession) -> None:
        await call.answer()
        extension = await self._identify(call)
        if extension is not None:
            actor = Actor("phone", call.channel.name or call.id)
            log.info("menu: operator %s on %r", extension, call.channel.name)
            await self._main_menu(call, extension, actor)
        await call.play(prompts.GOODBYE)
        await call.hangup()

    # -- identification -----------------------------------------------------------------

    def _claimed(self, call: CallSession, endpoint: str | None) -> str:
        """Whose phone this is, as far as the configuration lets us believe it."""
        if self.phone.identify == "callerid":
            return call.args[1] if len(call.args) > 1 and call.args[1] else call.channel.caller.number
        return endpoint or ""

    async def _identify(self, call: CallSession) -> str | None:
        endpoint = channel_endpoint(call.channel.name)
        claimed = self._claimed(call, endpoint)
        actor = Actor("phone", call.channel.name or call.id)
        if is_valid_extension(claimed) and self.operators.allowed(claimed):
            operator = await self.operators.get(claimed)
            if operator is not None and not operator.enabled:
                log.info("menu: operator %s is disabled; refusing the menu", claimed)
                await call.play(prompts.NOT_ALLOWED)
                return None
            if operator is not None and not operator.has_pin:
                return claimed
        else:
            log.info(
                "menu: %r (caller ID %r) is not an operator's phone; asking for extension and PIN",
                call.channel.name[:80],
                call.channel.caller.number[:40],
            )
        source = f"phone:{endpoint}" if endpoint else None
        if await self.guard.locked_until(source=source) is not None:
            await call.play(prompts.LOGIN_LOCKED)
            return None
        for _ in range(self.phone.pin_tries):
            await call.play(prompts.ENTER_EXTENSION, interruptible=True)
            extension = await call.read_digits(
                max_digits=20, timeout=5, first_timeout=self.phone.menu_timeout
            )
            if await self.guard.locked_until(extension=extension) is not None:
                log.info("menu: PIN entry for %r refused on %r: locked", extension[:20], call.channel.name)
                await call.play(prompts.LOGIN_LOCKED)
                return None
            await call.play(prompts.ENTER_PIN, interruptible=True)
            pin = await call.read_digits(
                max_digits=PIN_MAX_DIGITS, timeout=5, first_timeout=self.phone.menu_timeout
            )
            result = await self._check_login(extension, pin, source, actor)
            if result is PinCheck.OK:
                return extension
            if result is PinCheck.LOCKED:
                await call.play(prompts.LOGIN_LOCKED)
                return None
            log.info("menu: failed login for extension %r from %r", extension[:20], call.channel.name)
            await call.play(prompts.LOGIN_INCORRECT)
        return None

    async def _check_login(self, extension: str, pin: str, source: str | None, actor: Actor) -> PinCheck:
        """A PIN try through the guard; nothing typed or not an operator is simply wrong."""
        if not (extension and pin and is_valid_extension(extension) and self.operators.allowed(extension)):
            return PinCheck.WRONG
        return await self.guard.operator_login(self.operators, extension, pin, source=source, actor=actor)

    # -- main menu ------------------------------------------------------------------------

    async def _state(self, extension: str) -> _State:
        """What the menu announces, read in one database round trip per loop."""
        state = await self.messages.state(extension, default_status=self.default_status)
        return _State(
            status=state.status,
            has_message=state.current is not None,
            active=state.playing,
            enabled=state.message_enabled,
            sha256=state.current.sha256 if state.current else None,
        )

    async def _main_menu(self, call: CallSession, extension: str, actor: Actor) -> None:
        keys = self.keys
        announce = True
        silent_rounds = 0
        while True:
            state = await self._state(extension)
            media = prompts.main_menu(keys, has_message=state.has_message, active=state.active)
            if announce:
                media = prompts.state_announcement(has_message=state.has_message, active=state.active) + media
            await call.play(media, interruptible=True)
            digit = await call.read_digit(self.phone.menu_timeout)
            announce = False
            if digit is None:
                silent_rounds += 1
                if silent_rounds > self.phone.menu_repeats:
                    return
                continue
            silent_rounds = 0
            if digit == keys.leave:
                return
            if digit == keys.repeat:
                announce = True
            elif digit == keys.record:
                status = await self._choose_status(call)
                if status is not None:
                    if not await self._record(call, extension, status, actor):
                        return
                    announce = True
            elif digit in (keys.delete, keys.listen, keys.toggle) and not state.has_message:
                await call.play(prompts.NO_MESSAGE)
            elif digit == keys.delete:
                await self.messages.delete(extension, state.status, actor=actor)
                await call.play(prompts.DELETED)
            elif digit == keys.listen and state.sha256:
                await call.play(self._media(state.sha256), interruptible=True)
                call.clear_digits()
            elif digit == keys.toggle:
                await self.messages.set_enabled(extension, not state.active, actor=actor)
                now = await self._state(extension)
                await call.play(prompts.MESSAGE_ACTIVE if now.active else prompts.MESSAGE_OFF)
            else:
                await call.play(prompts.INVALID)

    def _media(self, sha256: str) -> str:
        return f"sound:{self.media_url(sha256)}"

    async def _choose_status(self, call: CallSession) -> int | None:
        """Which status to record for; asked only when the catalogue has several."""
        if len(self.status_digits) == 1:
            return self.default_status
        for _ in range(self.phone.menu_repeats + 1):
            await call.play(prompts.status_choice(self.status_digits), interruptible=True)
            digit = await call.read_digit(self.phone.menu_timeout)
            if digit is None:
                continue
            if digit in self.status_digits:
                return int(digit)
            if digit == self.keys.leave:
                return None
            await call.play(prompts.INVALID)
        return None

    # -- record and review ----------------------------------------------------------------

    async def _record(self, call: CallSession, extension: str, status: int, actor: Actor) -> bool:
        """Record, review, maybe publish; False when the caller went quiet in review."""
        while True:
            audio = await self._take_recording(call)
            if audio is None:
                await call.play(prompts.TOO_SHORT)
                return True
            await self.messages.stage(audio)
            choice = await self._review(call, audio)
            if choice is Review.ACCEPT:
                await self.messages.publish(extension, status, audio, actor=actor)
                await call.play(prompts.SAVED)
                return True
            if choice is not Review.RERECORD:
                return choice is not Review.TIMEOUT

    async def _take_recording(self, call: CallSession) -> ProcessedAudio | None:
        """Record once; None when the recording is refused (silent, too short)."""
        await call.play(prompts.RECORD_INSTRUCTIONS)
        name = f"voicestatus-{uuid.uuid4().hex}"
        try:
            await call.record(
                name=name,
                max_duration=self.phone.max_seconds,
                max_silence=self.phone.max_silence,
                beep=True,
                terminate_on="#",
            )
            wav = await call.fetch_recording(name)
        finally:
            await _discard_recording(call, name)
        try:
            return await self.messages.process_phone_recording(wav)
        except AudioRejected as exc:
            log.info("menu: recording refused on %r: %s", call.channel.name, exc.message)
            return None
        finally:
            # The "#" that ended the recording (and anything pressed while it was
            # processed) must not be taken as a review choice.
            call.clear_digits()

    async def _review(self, call: CallSession, audio: ProcessedAudio) -> Review:
        keys = self.keys
        silent_rounds = 0
        while True:
            await call.play(prompts.review_menu(keys), interruptible=True)
            digit = await call.read_digit(self.phone.menu_timeout)
            if digit is None:
                silent_rounds += 1
                if silent_rounds > self.phone.menu_repeats:
                    return Review.TIMEOUT
                continue
            silent_rounds = 0
            if digit == keys.accept:
                return Review.ACCEPT
            if digit == keys.rerecord:
                return Review.RERECORD
            if digit == keys.review_listen:
                await call.play(self._media(audio.sha256), interruptible=True)
                call.clear_digits()
            elif digit == keys.leave:
                return Review.LEAVE
            else:
                await call.play(prompts.INVALID)


class Review(Enum):
    """How the review of a new recording ended.

    An enum rather than strings so a misspelt outcome is an error mypy
    catches, not a branch that silently never runs.
    """

    ACCEPT = "accept"  # publish it
    RERECORD = "rerecord"  # record again
    LEAVE = "leave"  # back to the menu; the old message stays
    TIMEOUT = "timeout"  # the caller went quiet; the call ends


DISCARD_WINDOW = 30.0


async def _discard_recording(call: CallSession, name: str) -> None:
    """Remove a recording from Asterisk, live or stored, whatever state it is in.

    After a hang-up mid-recording Asterisk first finishes writing the file,
    which takes a while on a busy PBX; until then neither the live nor the
    stored recording can be deleted, so keep trying for a bounded time.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DISCARD_WINDOW
    delay = 0.05
    while True:
        try:
            await call.cancel_recording(name)
            return
        except AriError:
            pass
        try:
            await call.delete_recording(name)
            return
        except AriError:
            if loop.time() > deadline:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
    log.warning("could not delete recording %s from Asterisk", name)
