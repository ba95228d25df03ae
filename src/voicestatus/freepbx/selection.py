"""Which extensions a FreePBX command acts on: ``101-130,205`` or ``_1XX``.

Admins name extensions the way they think of them: lists, ranges and, for
"everyone in the 1xx block", Asterisk patterns. A number listed on its own
must exist (a typo is an error, not a silent no-op). A range is a block of
numbers of which some are usually unused: it stands for the extensions that
exist in it, and the unused numbers are reported, not refused. Patterns
select among the extensions FreePBX has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from voicestatus.errors import ConfigError, InvalidInput
from voicestatus.services.extensions import ExtensionPattern, validate_extension

MAX_SELECTED = 20_000


@dataclass(frozen=True)
class Selection:
    literals: tuple[str, ...]
    pattern: ExtensionPattern | None
    ranged: tuple[str, ...] = ()

    def candidates(self, existing: Iterable[str]) -> list[str]:
        """Every number to look up: literals, range members, pattern matches among ``existing``."""
        out = list(dict.fromkeys((*self.literals, *self.ranged)))
        if self.pattern is not None:
            seen = set(out)
            out += [e for e in existing if e not in seen and self.pattern.matches(e)]
        return out

    @cached_property
    def _named(self) -> frozenset[str]:
        return frozenset(self.literals)

    @cached_property
    def _listed(self) -> frozenset[str]:
        return frozenset((*self.literals, *self.ranged))

    def is_literal(self, extension: str) -> bool:
        """Named on its own (so it must exist), not only as part of a range or pattern."""
        return extension in self._named

    def matches(self, extension: str) -> bool:
        return extension in self._listed or (self.pattern is not None and self.pattern.matches(extension))


def extension_order(extension: str) -> tuple[int, int, str]:
    """Sort key: numbers by value (``99 < 101 < 1000``), anything else after them."""
    return (0, int(extension), extension) if extension.isdigit() else (1, 0, extension)


def compact(extensions: Iterable[str]) -> str:
    """``101,102,103,105`` as ``101-103,105`` (numbers in order; runs of three or more joined)."""
    items = sorted(set(extensions), key=extension_order)
    parts: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= 3:
            parts.append(f"{run[0]}-{run[-1]}")
        else:
            parts.extend(run)
        run.clear()

    for ext in items:
        last = run[-1] if run else ""
        if last.isdigit() and ext.isdigit() and len(ext) == len(last) and int(ext) == int(last) + 1:
            run.append(ext)
            continue
        flush()
        run.append(ext)
    flush()
    return ",".join(parts)


def parse_selection(text: str) -> Selection:
    """Parse ``101-130,205,_2XX``; InvalidInput names the bad item."""
    literals: list[str] = []
    ranged: list[str] = []
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
        if int(high) - int(low) + len(literals) + len(ranged) >= MAX_SELECTED:
            raise InvalidInput(f"extension range {item!r} is too large (at most {MAX_SELECTED})")
        width = len(low) if len(low) == len(high) else 0
        ranged += [str(n).zfill(width) for n in range(int(low), int(high) + 1)]
    if not literals and not ranged and not patterns:
        raise InvalidInput("no extensions given (e.g. --extensions 101-130,205)")
    try:
        pattern = ExtensionPattern.parse(",".join(patterns)) if patterns else None
    except ConfigError as exc:
        raise InvalidInput(f"not an extension pattern: {', '.join(patterns)!r}") from exc
    named = tuple(dict.fromkeys(literals))
    in_ranges = tuple(e for e in dict.fromkeys(ranged) if e not in set(named))
    return Selection(named, pattern, in_ranges)
