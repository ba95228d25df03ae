"""Which extensions a FreePBX command acts on: ``101-130,205`` or ``_1XX``.

Admins name extensions the way they think of them: lists, ranges and, for
"everyone in the 1xx block", Asterisk patterns. Literals and ranges name
extensions that must exist (a typo is an error, not a silent no-op);
patterns select among the extensions FreePBX has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from voicestatus.errors import ConfigError, InvalidInput
from voicestatus.services.extensions import ExtensionPattern, validate_extension

MAX_SELECTED = 20_000


@dataclass(frozen=True)
class Selection:
    literals: tuple[str, ...]
    pattern: ExtensionPattern | None

    def resolve(self, existing: Iterable[str]) -> list[str]:
        """The literals plus every existing extension the patterns match, in order, once each."""
        out = list(dict.fromkeys(self.literals))
        if self.pattern is not None:
            seen = set(out)
            out += [e for e in existing if e not in seen and self.pattern.matches(e)]
        return out

    def matches(self, extension: str) -> bool:
        return extension in self.literals or (self.pattern is not None and self.pattern.matches(extension))


def parse_selection(text: str) -> Selection:
    """Parse ``101-130,205,_2XX``; InvalidInput names the bad item."""
    literals: list[str] = []
    patterns: list[str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        if item.startswith("_"):
            patterns.append(item)
            continue
        low, sep, high = item.partition("-")
        if not sep:
            literals.append(validate_extension(item))
            continue
        validate_extension(low)
        validate_extension(high)
        if int(high) < int(low):
            raise InvalidInput(f"extension range {item!r} is reversed")
        if int(high) - int(low) + len(literals) >= MAX_SELECTED:
            raise InvalidInput(f"extension range {item!r} is too large (at most {MAX_SELECTED})")
        width = len(low) if len(low) == len(high) else 0
        literals += [str(n).zfill(width) for n in range(int(low), int(high) + 1)]
    if not literals and not patterns:
        raise InvalidInput("no extensions given (e.g. --extensions 101-130,205)")
    try:
        pattern = ExtensionPattern.parse(",".join(patterns)) if patterns else None
    except ConfigError as exc:
        raise InvalidInput(f"not an extension pattern: {', '.join(patterns)!r}") from exc
    return Selection(tuple(dict.fromkeys(literals)), pattern)
