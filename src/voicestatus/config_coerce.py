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
        try:
            return tp(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: must be a number, not {value!r}") from None
    if tp is str:
        if not isinstance(value, (str, int)):
            raise ConfigError(f"{where}: must be a string, not {value!r}")
        return str(value)
    raise ConfigError(f"{where}: unsupported value {value!r}")


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
        statuses.append(Status(digit=int(digit), key=key, names=dict(names)))
    if not statuses:
        raise ConfigError(f"{source}: [statuses] must define at least one status")
    keys = [s.key for s in statuses]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{source}: [statuses] keys must be unique")
    return tuple(sorted(statuses, key=lambda s: s.digit))
