"""How long a PIN is: the one rule the setter, the phone menu and the web share.

A PIN is stored as an argon2 hash, so nothing downstream can tell a PIN
that was accepted by one path but can never be typed on another; the limits
therefore live here, and every reader and writer takes them from here (the
phone used to read at most 12 digits while 20 could be set, locking such
operators out of the phone for good).
"""

from __future__ import annotations

import re

PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 20
PIN_PATTERN = f"[0-9]{{{PIN_MIN_DIGITS},{PIN_MAX_DIGITS}}}"
"""The PIN as a regular expression without anchors (HTML ``pattern`` attributes add their own)."""
PIN_RULE = f"a PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits"

_PIN = re.compile(PIN_PATTERN, re.ASCII)


def is_valid_pin(pin: object) -> bool:
    """Whether ``pin`` is a PIN that can be set, and typed on a phone and in the web login."""
    return isinstance(pin, str) and _PIN.fullmatch(pin) is not None
