"""What the phone says, composed from Asterisk's core sounds.

Every sound named here exists in both the English and the Russian core
sound packs, so a channel in either language hears its own prompts
(``doctor`` checks them on a real server; the catalogue of names is
``voicestatus.asterisk.sounds``, which must list every sound used here). With the default keys the menu
uses app_voicemail's ready-made sentences ("press 1 to record your
temporary greeting, or press 2 to erase it"); with other keys it composes
"press <key> ..." from words, so what is said always matches the keys.
"""

from __future__ import annotations

from collections.abc import Sequence

from voicestatus.asterisk import sounds
from voicestatus.config import PhoneKeys

KEY_SOUNDS = {"*": "digits/star", "#": "digits/pound"}


def key(digit: str) -> str:
    return f"sound:{KEY_SOUNDS.get(digit, f'digits/{digit}')}"


def s(name: str) -> str:
    return f"sound:{name}"


# Single prompts, by what they mean.
BEEP = s("beep")
GOODBYE = s("vm-goodbye")
INVALID = s("pm-invalid-option")
MESSAGE_ACTIVE = s("vm-tempgreetactive")
MESSAGE_OFF = [s("vm-message"), s("de-activated")]
NO_MESSAGE = [s("vm-youhave"), s("vm-no"), s("vm-message")]
RECORD_INSTRUCTIONS = s("vm-rec-temp")
SAVED = s("vm-msgsaved")
TOO_SHORT = s("vm-tooshort")
DELETED = s("vm-tempremoved")
ENTER_EXTENSION = [s("extension"), s("vm-then-pound")]
ENTER_PIN = s("agent-pass")
LOGIN_INCORRECT = s("vm-incorrect")
SORRY = [s("im-sorry"), s("please-try-again")]
PLEASE_TRY_AGAIN = s("please-try-again")
NOT_ALLOWED = s(sounds.NOT_ALLOWED)
# PIN entry refused while the extension or the phone is locked out (too many wrong PINs).
LOGIN_LOCKED = [s("im-sorry"), s("disabled")]


def state_announcement(*, has_message: bool, active: bool) -> list[str]:
    """What the operator hears on entry: is a message playing to callers?"""
    if active:
        return [MESSAGE_ACTIVE]
    if has_message:
        return list(MESSAGE_OFF)
    return list(NO_MESSAGE)


def main_menu(keys: PhoneKeys, *, has_message: bool, active: bool) -> list[str]:
    """The options, in the order of the spec's key table; only keys that apply now."""
    media: list[str] = []
    if keys.record == "1" and keys.delete == "2" and has_message:
        media.append(s("vm-tempgreeting2"))
    else:
        media += (
            [s("vm-tempgreeting")]
            if keys.record == "1"
            else [s("vm-press"), key(keys.record), s("dictate/record")]
        )
        if has_message:
            media += [s("vm-press"), key(keys.delete), s("removed")]
    if has_message:
        media += [s("vm-press"), key(keys.listen), s("to-listen-to-it")]
        media += [s("vm-press"), key(keys.toggle), s("de-activated" if active else "activated")]
    if keys.leave == "*":
        media.append(s("vm-star-cancel"))
    else:
        media += [s("vm-press"), key(keys.leave), s("cancelled")]
    return media


def status_choice(digits: Sequence[str]) -> list[str]:
    """Which status to record for: "press 1, press 2, ..." (core sounds have no status names)."""
    media: list[str] = []
    for digit in digits:
        media += [s("vm-press"), key(digit)]
    return media


def review_menu(keys: PhoneKeys) -> list[str]:
    """After recording: accept, listen, re-record."""
    if (keys.accept, keys.review_listen, keys.rerecord) == ("1", "2", "3"):
        return [s("vm-review")]
    return [
        s("vm-press"),
        key(keys.accept),
        s("vm-saved"),
        s("vm-press"),
        key(keys.review_listen),
        s("to-listen-to-it"),
        s("vm-press"),
        key(keys.rerecord),
        s("to-rerecord-it"),
    ]
