"""Operator extensions: strict validation and the ``[operators] pattern`` language.

Caller IDs and DTMF are attacker-controlled. Every extension the product
touches goes through :func:`validate_extension` first, which accepts only
1..20 ASCII digits (``str.isdigit`` would also accept Arabic-Indic and other
Unicode digits, which Asterisk, paths and SQL must never see).

``ExtensionPattern`` is the set of extensions allowed to be operators. The
config text mixes Asterisk patterns (``_1XX``), literal extensions (``205``)
and numeric ranges (``101-199``), because administrators think in all three.
It is matched in Python (the service) and also rendered back as Asterisk
patterns (the generated dialplan), and both views must allow exactly the same
callers; the unit tests check that by brute force.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from voicestatus.errors import ConfigError, InvalidInput

MAX_EXTENSION_LENGTH = 20
# What an extension is, as a regex for the places that can only take one (an
# API route's path or query pattern, a file-name pattern); everything else
# calls validate_extension or is_valid_extension.
EXTENSION_PATTERN = f"[0-9]{{1,{MAX_EXTENSION_LENGTH}}}"
_EXTENSION_RE = re.compile(EXTENSION_PATTERN, re.ASCII)
_RANGE_RE = re.compile(f"({EXTENSION_PATTERN})-({EXTENSION_PATTERN})", re.ASCII)
_CLASS_SHORTHANDS = {"X": "0123456789", "Z": "123456789", "N": "23456789"}


class InvalidExtension(InvalidInput):
    """A caller ID, DTMF entry or API path segment is not an extension."""

    error_id = "invalid-extension"


def _shown(text: object) -> str:
    """A safe, bounded rendering of untrusted input for messages and logs."""
    if isinstance(text, str) and len(text) > 40:
        return repr(text[:40]) + "..."
    return repr(text)


def validate_extension(text: str) -> str:
    """Return ``text`` if it is 1..20 ASCII digits, else raise InvalidExtension."""
    if not isinstance(text, str) or not _EXTENSION_RE.fullmatch(text):
        raise InvalidExtension(
            f"not a valid extension (1 to 20 digits 0-9): {_shown(text)}",
            details={"value": _shown(text)},
        )
    return text


def is_valid_extension(text: object) -> bool:
    """True if ``text`` passes :func:`validate_extension`."""
    return isinstance(text, str) and _EXTENSION_RE.fullmatch(text) is not None


# One position of a fixed-length pattern: the set of digits it accepts.
_Position = frozenset[str]


def _position_text(digits: _Position) -> str:
    """Asterisk spelling of one position: a digit, X/Z/N, or a [class]."""
    chars = "".join(sorted(digits))
    if len(chars) == 1:
        return chars
    for letter, members in _CLASS_SHORTHANDS.items():
        if chars == members:
            return letter
    parts: list[str] = []
    run: list[int] = []
    for value in [*sorted(int(c) for c in chars), 99]:
        if run and value == run[-1] + 1:
            run.append(value)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else "".join(map(str, run)))
        run = [value]
    return "[" + "".join(parts) + "]"


@dataclass(frozen=True)
class _Pattern:
    """An Asterisk pattern restricted to digits: fixed positions plus an optional tail.

    ``tail`` is ``"."`` (one or more further characters), ``"!"`` (zero or
    more) or ``""``; for an extension those characters are digits.
    """

    positions: tuple[_Position, ...]
    tail: str = ""

    def regex(self) -> str:
        body = "".join("[" + "".join(sorted(p)) + "]" for p in self.positions)
        return body + {"": "", ".": "[0-9]+", "!": "[0-9]*"}[self.tail]

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        """Compiled once: every call checks its operator against the pattern."""
        return re.compile(self.regex(), re.ASCII)

    def __str__(self) -> str:
        text = "".join(_position_text(p) for p in self.positions) + self.tail
        if self.tail or any(len(p) > 1 for p in self.positions):
            return "_" + text
        return text


def _parse_asterisk_pattern(item: str) -> _Pattern:
    body = item[1:]
    positions: list[_Position] = []
    tail = ""
    i = 0
    while i < len(body):
        char = body[i].upper()
        if tail:
            raise ConfigError(f"[operators] pattern {item!r}: '{tail}' must be the last character")
        if char in ".!":
            tail = char
        elif char in _CLASS_SHORTHANDS:
            positions.append(frozenset(_CLASS_SHORTHANDS[char]))
        elif char.isascii() and char.isdigit():
            positions.append(frozenset(char))
        elif char == "[":
            end = body.find("]", i)
            if end < 0:
                raise ConfigError(f"[operators] pattern {item!r}: '[' without ']'")
            positions.append(_parse_class(body[i + 1 : end], item))
            i = end
        else:
            raise ConfigError(
                f"[operators] pattern {item!r}: unsupported character {body[i]!r} "
                "(use digits, X, Z, N, [ranges], '.' or '!')"
            )
        i += 1
    if not positions and tail != ".":
        raise ConfigError(f"[operators] pattern {item!r} matches no extension")
    if len(positions) > MAX_EXTENSION_LENGTH:
        raise ConfigError(f"[operators] pattern {item!r} is longer than {MAX_EXTENSION_LENGTH}")
    return _Pattern(tuple(positions), tail)


def _parse_class(inner: str, item: str) -> _Position:
    digits: set[str] = set()
    i = 0
    while i < len(inner):
        char = inner[i]
        if not (char.isascii() and char.isdigit()):
            raise ConfigError(f"[operators] pattern {item!r}: only digits and ranges in [...]")
        if i + 2 < len(inner) and inner[i + 1] == "-":
            high = inner[i + 2]
            if not (high.isascii() and high.isdigit()) or high < char:
                raise ConfigError(f"[operators] pattern {item!r}: bad range {char}-{high}")
            digits.update(str(d) for d in range(int(char), int(high) + 1))
            i += 3
        else:
            digits.add(char)
            i += 1
    if not digits:
        raise ConfigError(f"[operators] pattern {item!r}: empty [...]")
    return frozenset(digits)


def _fixed_range_patterns(low: str, high: str) -> list[_Pattern]:
    """Patterns covering exactly the same-width digit strings low..high."""
    if low == high:
        return [_Pattern(tuple(frozenset(c) for c in low))]
    split = next(i for i, (a, b) in enumerate(zip(low, high, strict=True)) if a != b)
    prefix = tuple(frozenset(c) for c in low[:split])
    first_low, first_high = int(low[split]), int(high[split])
    rest_low, rest_high = low[split + 1 :], high[split + 1 :]
    width = len(rest_low)
    anything = tuple(frozenset("0123456789") for _ in range(width))

    out: list[_Pattern] = []
    middle_from, middle_to = first_low + 1, first_high - 1
    if rest_low == "0" * width:
        middle_from = first_low
    else:
        for pattern in _fixed_range_patterns(rest_low, "9" * width):
            out.append(_Pattern((*prefix, frozenset(str(first_low)), *pattern.positions)))
    upper: list[_Pattern] = []
    if rest_high == "9" * width:
        middle_to = first_high
    else:
        for pattern in _fixed_range_patterns("0" * width, rest_high):
            upper.append(_Pattern((*prefix, frozenset(str(first_high)), *pattern.positions)))
    if middle_from <= middle_to:
        middle = frozenset(str(d) for d in range(middle_from, middle_to + 1))
        out.append(_Pattern((*prefix, middle, *anything)))
    return out + upper


@dataclass(frozen=True)
class _Range:
    """Inclusive range; ``width`` set means fixed-width (leading zeros) strings."""

    low: str
    high: str
    width: int | None

    def matches(self, ext: str) -> bool:
        if self.width is not None:
            return len(ext) == self.width and self.low <= ext <= self.high
        if len(ext) > 1 and ext.startswith("0"):
            return False
        return int(self.low) <= int(ext) <= int(self.high)

    def patterns(self) -> list[_Pattern]:
        if self.width is not None:
            return _fixed_range_patterns(self.low, self.high)
        out: list[_Pattern] = []
        low, high = int(self.low), int(self.high)
        for width in range(len(self.low), len(self.high) + 1):
            first = max(low, 10 ** (width - 1) if width > 1 else 0)
            last = min(high, 10**width - 1)
            out.extend(_fixed_range_patterns(str(first), str(last)))
        return out

    def __str__(self) -> str:
        return f"{self.low}-{self.high}"


def _parse_range(item: str, low: str, high: str) -> _Range:
    if (low.startswith("0") and len(low) > 1) or (high.startswith("0") and len(high) > 1):
        if len(low) != len(high):
            raise ConfigError(
                f"[operators] pattern {item!r}: a range with leading zeros needs both ends of the same length"
            )
        width: int | None = len(low)
        ordered = low <= high
    else:
        width = None
        ordered = int(low) <= int(high)
    if not ordered:
        raise ConfigError(f"[operators] pattern {item!r}: the range is reversed")
    return _Range(low, high, width)


_Item = _Pattern | _Range


@dataclass(frozen=True)
class ExtensionPattern:
    """The set of extensions allowed to be operators (``[operators] pattern``)."""

    items: tuple[_Item, ...]

    @classmethod
    def parse(cls, text: str) -> ExtensionPattern:
        """Parse ``_1XX, 205, 300-349`` style text; ConfigError names the bad item."""
        items: list[_Item] = []
        for raw in text.split(","):
            item = raw.strip()
            if not item:
                raise ConfigError(f"[operators] pattern {text!r}: empty item")
            if item.startswith("_"):
                items.append(_parse_asterisk_pattern(item))
            elif _EXTENSION_RE.fullmatch(item):
                items.append(_Pattern(tuple(frozenset(c) for c in item)))
            elif match := _RANGE_RE.fullmatch(item):
                items.append(_parse_range(item, match.group(1), match.group(2)))
            else:
                raise ConfigError(
                    f"[operators] pattern: {_shown(item)} is not an Asterisk pattern (_1XX), "
                    "an extension (205) or a range (101-199)"
                )
        return cls(tuple(items))

    def matches(self, ext: str) -> bool:
        """True if ``ext`` is a valid extension that one of the items allows."""
        if not is_valid_extension(ext):
            return False
        for item in self.items:
            if isinstance(item, _Range):
                if item.matches(ext):
                    return True
            elif item.compiled.fullmatch(ext):
                return True
        return False

    def dialplan_patterns(self) -> list[str]:
        """Asterisk extension patterns (or literals) allowing exactly these extensions."""
        out: list[str] = []
        for item in self.items:
            for pattern in item.patterns() if isinstance(item, _Range) else [item]:
                text = str(pattern)
                if text not in out:
                    out.append(text)
        return out

    def __str__(self) -> str:
        return ",".join(str(item) for item in self.items)
