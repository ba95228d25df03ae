"""The caller path: ``Stasis(voicestatus,unavailable,<ext>[,<reason>])``.

Someone called an operator who did not answer, was busy or unreachable. If
the operator has a live message the caller hears it, then the call hangs up
or goes back to the dialplan (e.g. voicemail); otherwise the configured
fallback runs. Everything that identifies the operator (the argument,
``EXTTOCALL``, ``CONNECTEDLINE``) can be steered by a caller, so it is only
ever used once it is plain digits and an allowed operator.

Two things a caller must never get: silence, and a clipped first syllable.
If Asterisk cannot fetch the message (ARI reports the playback ``failed``,
within milliseconds, or the play request itself errors) the caller hears the
spoken template instead. After answering, the flow waits for the caller's
first media before playing, as Asterisk's own ``Playback()`` does (see
``media_wait.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from voicestatus.config import REASONS, Config, Reason, ReasonConfig
from voicestatus.errors import AriError
from voicestatus.flows.media_wait import wait_for_caller_media
from voicestatus.flows.session import CallSession
from voicestatus.flows.template import not_available
from voicestatus.metrics import Metrics
from voicestatus.services.extensions import is_valid_extension
from voicestatus.services.messages import MessageView
from voicestatus.services.operators import OperatorService

log = logging.getLogger(__name__)

# Where the operator's extension may come from when the argument is empty.
OPERATOR_SOURCES = ("EXTTOCALL", "CONNECTEDLINE(num)")


def parse_reason(raw: str) -> Reason:
    """The reason argument; anything but a known reason counts as no answer."""
    for reason in REASONS:
        if raw == reason:
            return reason
    if raw:
        log.warning("unavailable: unknown reason %r, treating it as noanswer", raw[:40])
    return "noanswer"


class UnavailableFlow:
    """One instance serves every caller-path call."""

    def __init__(
        self,
        config: Config,
        operators: OperatorService,
        metrics: Metrics,
        *,
        playable: Callable[[str], Awaitable[MessageView | None]],
        media_url: Callable[[str], str],
        count_play: Callable[[int], None],
    ) -> None:
        self.config = config
        self.operators = operators
        self.metrics = metrics
        # What callers of an extension hear; app.py gives the playable cache's
        # lookup, so a call costs no database round trip (see playable_cache.py).
        self.playable = playable
        # sha256 -> the URL Asterisk fetches a stored message from (``web.media.media_url``).
        self.media_url = media_url
        # Counts a play in memory; written in batches (see play_counter.py).
        self.count_play = count_play

    async def __call__(self, call: CallSession) -> None:
        extension = await self.resolve_operator(call)
        reason = parse_reason(call.args[2] if len(call.args) > 2 else "")
        settings = self.config.caller.for_reason(reason)
        message: MessageView | None = None
        if extension is not None and self.operators.allowed(extension) and settings.play_message:
            message = await self.playable(extension)
        log.info(
            "unavailable: operator %s, reason %s, %s",
            extension,
            reason,
            "message" if message is not None else "no message",
        )
        if message is None:
            await self._fallback(call, extension, settings)
            return
        await self._answer(call)
        if await self._play_message(call, message, reason):
            await self._after(call, settings.after_action)
        else:
            await self._template(call, extension)
            await self._after(call, settings.after_action)

    async def resolve_operator(self, call: CallSession) -> str | None:
        """Validated digits from the argument, else EXTTOCALL, else CONNECTEDLINE."""
        raw = call.args[1] if len(call.args) > 1 else ""
        if raw:
            return _digits_or_none(raw, "argument")
        for source in OPERATOR_SOURCES:
            try:
                value = await call.get_variable(source)
            except AriError as exc:
                log.info("unavailable: cannot read %s: %s", source, exc.message)
                continue
            if value:
                return _digits_or_none(value, source)
        log.info("unavailable: no operator in the argument, EXTTOCALL or CONNECTEDLINE")
        return None

    async def _answer(self, call: CallSession) -> None:
        await call.answer()
        await wait_for_caller_media(call, self.config.caller.media_wait_ms / 1000)

    async def _play_message(self, call: CallSession, message: MessageView, reason: Reason) -> bool:
        """Play the message; False if Asterisk could not fetch or play it."""
        uri = f"sound:{self.media_url(message.sha256)}"
        try:
            await call.play(uri)
        except AriError as exc:
            return self._media_failed(message, f"play request refused: {exc.message}")
        if call.last_playback_state == "failed":
            return self._media_failed(message, "Asterisk could not fetch or play the media URL")
        self.count_play(message.id)
        self.metrics.plays.labels(reason=reason).inc()
        return True

    def _media_failed(self, message: MessageView, why: str) -> bool:
        log.error(
            "unavailable: message %d of operator %s not played (%s; is [http] public_url %s "
            "reachable from Asterisk?); playing the template instead",
            message.id,
            message.extension,
            why,
            self.config.http.public_url,
        )
        self.metrics.errors.labels(kind="media-fetch").inc()
        return False

    async def _fallback(self, call: CallSession, extension: str | None, settings: ReasonConfig) -> None:
        kind = settings.fallback
        self.metrics.fallbacks.labels(kind=kind).inc()
        if kind == "template":
            await self._answer(call)
            await self._template(call, extension)
            await call.hangup()
        elif kind == "continue":
            await call.continue_in_dialplan()
        else:
            await call.hangup()

    async def _template(self, call: CallSession, extension: str | None) -> None:
        await call.play(not_available(extension))

    async def _after(self, call: CallSession, action: str) -> None:
        if action == "continue":
            await call.continue_in_dialplan()
        else:
            await call.hangup()


def _digits_or_none(raw: str, source: str) -> str | None:
    if is_valid_extension(raw):
        return raw
    log.warning("unavailable: refusing operator %r from %s (not 1 to 20 digits)", raw[:40], source)
    return None
