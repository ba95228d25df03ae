"""Turning raw TOML and environment values into typed, checked settings.

Environment overrides arrive as strings and TOML as whatever the operator
typed, so each value is coerced to the type its dataclass field declares,
and anything that does not fit - an unknown key, ``yes`` for a number, a
value outside a ``Literal`` - is a ``ConfigError`` naming the section and
key, never a silent default. This is generic over the section dataclasses
(plus ``[statuses]``, whose keys are digits rather than field names); the
rules that span several fields are checked by ``voicestatus.config``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

from voicestatus.config_sections import Status
from voicestatus.errors import ConfigError


def build_section(cls: type[Any], values: Mapping[str, Any], where: str) -> Any:
    """Instantiate the dataclass ``cls`` from one TOML table, coercing each value."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in names:
            raise ConfigError(f"{where}: unknown key '{key}'")
        kwargs[key] = _coerce(hints[key], value, f"{where} {key}")
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _coerce(inner[0], value, where)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where}: must be one of {', '.join(map(str, allowed))}, not {value!r}")
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: must be a table")
        return build_section(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: must be true or false, not {value!r}")
    if tp in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where}: must be a number, not {value!r}")
        if tp is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{where}: must be a whole number, not {value!r}")
        try:
            number = tp(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"{where}: must be a number, not {_shown(value)}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{where}: must be a finite number, not {value!r}")
        return number
    if tp is str:
        if not isinstance(value, (str, int)):
            raise ConfigError(f"{where}: must be a string, not {_shown(value)}")
        text = str(value)
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            # A CR/LF in a URL or a password becomes a header or a line of its own.
            raise ConfigError(f"{where}: must not contain control characters (e.g. line breaks)")
        return text
    raise ConfigError(f"{where}: unsupported value {value!r}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."


def parse_statuses(value: Mapping[str, Any], source: str) -> tuple[Status, ...]:
    """The ``[statuses.<digit>]`` tables, checked and sorted by digit."""
    statuses: list[Status] = []
    for digit, entry in value.items():
        where = f"{source}: [statuses.{digit}]"
        if not (isinstance(digit, str) and digit.isdigit() and 1 <= int(digit) <= 9):
            raise ConfigError(f"{where}: status ids are the digits 1 to 9")
        if not isinstance(entry, Mapping) or not isinstance(entry.get("key"), str):
            raise ConfigError(f'{where}: needs key = "..." and names = {{ en = "..." }}')
        key = entry["key"]
        if not key.replace("_", "").replace("-", "").isalnum() or not key.isascii():
            raise ConfigError(f"{where}: key must be ASCII letters, digits, - or _")
        names = entry.get("names", {})
        if not isinstance(names, Mapping) or not all(isinstance(v, str) for v in names.values()):
            raise ConfigError(f'{where}: names must be a table of language = "name"')
        if any(ord(c) < 32 or ord(c) == 127 for text in [key, *names.keys(), *names.values()] for c in text):
            raise ConfigError(f"{where}: names must not contain control characters (e.g. line breaks)")
        statuses.append(Status(digit=int(digit), key=key, names=dict(names)))
    if not statuses:
        raise ConfigError(f"{source}: [statuses] must define at least one status")
    keys = [s.key for s in statuses]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{source}: [statuses] keys must be unique")
    return tuple(sorted(statuses, key=lambda s: s.digit))


# The sane range of each number: a value outside is a typo or an attack on the
# service's own settings (a zero login limit, a timeout that overflows a date).
RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("ari", "request_timeout"): (0.001, 3600),
    ("ari", "reconnect_min_delay"): (0.001, 3600),
    ("ari", "reconnect_max_delay"): (0.001, 86400),
    ("http", "session_hours"): (0.001, 24 * 366),
    ("http", "login_attempts"): (1, 10**6),
    ("http", "login_window_seconds"): (0.001, 86400 * 366),
    ("http", "list_cache_seconds"): (0, 3600),
    ("media", "target_lufs"): (-70, 0),
    ("media", "peak_dbfs"): (-70, 0),
    ("media", "max_upload_bytes"): (1, 2**40),
    ("media", "max_upload_seconds"): (0.001, 86400),
    ("media", "history_days"): (0, 36500),
    ("media", "orphan_hours"): (1, 24 * 36500),
    ("phone", "max_seconds"): (1, 86400),
    ("phone", "max_silence"): (0, 86400),
    ("phone", "min_talk_seconds"): (0, 86400),
    ("phone", "menu_timeout"): (0.001, 3600),
    ("phone", "menu_repeats"): (0, 1000),
    ("phone", "pin_tries"): (1, 1000),
    ("phone", "pin_lock_after"): (1, 1000),
    ("phone", "pin_lock_seconds"): (1, 86400),
    ("phone", "pin_lock_max_seconds"): (1, 86400 * 30),
    ("caller", "media_wait_ms"): (0, 60_000),
    ("caller", "message_cache_seconds"): (0, 3600),
    ("asterisk", "ring_seconds"): (1, 600),
    ("freepbx", "reload_timeout"): (1, 3600),
}


def check_ranges(cfg: Any, source: str) -> None:
    """ConfigError for a number outside its sane range or trusted_proxies that are not networks."""
    for (section, key), (low, high) in RANGES.items():
        value = getattr(getattr(cfg, section), key)
        if not low <= value <= high:
            raise ConfigError(
                f"{source}: [{section}] {key} must be between {low:g} and {high:g}, not {value!r}"
            )
    for spec in cfg.http.trusted_proxies.split(","):
        try:
            if spec.strip():
                ipaddress.ip_network(spec.strip(), strict=False)
        except ValueError:
            raise ConfigError(
                f"{source}: [http] trusted_proxies must be addresses or networks (a.b.c.d/nn), not {spec!r}"
            ) from None
