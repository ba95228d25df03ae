"""Configuration: one TOML file plus ``VOICESTATUS_<SECTION>__<KEY>`` overrides.

The file is read once at start and turned into frozen dataclasses that are
passed down; nothing reads the environment or the file afterwards. Unknown
sections or keys are errors, because a typo in a PBX config that silently
falls back to a default is how callers end up hearing the wrong thing.

This module is the one place the rest of the code imports settings from: it
holds ``Config``, the loader and the checks that span several fields, and
re-exports the per-section dataclasses (``config_sections``); the per-value
coercion lives in ``config_coerce``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicestatus.config_coerce import build_section, check_ranges, parse_statuses
from voicestatus.config_sections import (
    REASONS,
    AfterAction,
    AriConfig,
    AsteriskConfig,
    CallerConfig,
    DatabaseConfig,
    Fallback,
    FreepbxConfig,
    HttpConfig,
    MediaConfig,
    OperatorsConfig,
    PhoneConfig,
    PhoneKeys,
    Reason,
    ReasonConfig,
    Status,
)
from voicestatus.errors import ConfigError
from voicestatus.safe_files import UnsafeFile, Untrusted, find_untrusted, read_regular, untrusted_reason

__all__ = [
    "CONFIG_ENV",
    "CONFIG_HELP",
    "DEFAULT_CONFIG_PATH",
    "ENV_PREFIX",
    "REASONS",
    "AfterAction",
    "AriConfig",
    "AsteriskConfig",
    "CallerConfig",
    "Config",
    "DatabaseConfig",
    "Fallback",
    "FreepbxConfig",
    "HttpConfig",
    "MediaConfig",
    "OperatorsConfig",
    "PhoneConfig",
    "PhoneKeys",
    "Reason",
    "ReasonConfig",
    "Status",
    "config_from_dict",
    "config_path",
    "load_config",
]

ENV_PREFIX = "VOICESTATUS_"
DEFAULT_CONFIG_PATH = Path("/etc/voicestatus/voicestatus.toml")
CONFIG_ENV = "VOICESTATUS_CONFIG"
MAX_CONFIG_BYTES = 1 << 20
CONFIG_HELP = f"Configuration file (default: ${CONFIG_ENV}, then {DEFAULT_CONFIG_PATH})."
OWNERSHIP_FIX = "chown root:voicestatus {path} && chmod 0640 {path}"


def _default_statuses() -> tuple[Status, ...]:
    return (Status(digit=1, key="away", names={"en": "Away", "ru": "Нет на месте"}),)


@dataclass(frozen=True)
class Config:
    ari: AriConfig = field(default_factory=AriConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    operators: OperatorsConfig = field(default_factory=OperatorsConfig)
    phone: PhoneConfig = field(default_factory=PhoneConfig)
    caller: CallerConfig = field(default_factory=CallerConfig)
    statuses: tuple[Status, ...] = field(default_factory=_default_statuses)
    asterisk: AsteriskConfig = field(default_factory=AsteriskConfig)
    freepbx: FreepbxConfig = field(default_factory=FreepbxConfig)

    def replace(self, **sections: Any) -> Config:
        """A copy with whole sections swapped, for tests and the demo."""
        return dataclasses.replace(self, **sections)


def config_path(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The file a command reads: ``--config``, else ``$VOICESTATUS_CONFIG``, else ``/etc``.

    Never the current directory: root running a command in a directory
    another account owns must not pick up that account's settings (a
    ``reload_command`` is run as root).
    """
    env = os.environ if environ is None else environ
    return Path(path or env.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (if it exists) and apply environment overrides.

    An explicitly named file that does not exist is an error; the default
    ``/etc/voicestatus/voicestatus.toml`` may be absent (defaults then
    apply). Run as root, a file another account could change is refused
    (see :func:`check_config_trust`): its settings include commands root runs.
    """
    env = os.environ if environ is None else environ
    explicit = path is not None or CONFIG_ENV in env
    cfg_path = config_path(path, env)
    raw: dict[str, Any] = {}
    data = _read_config(cfg_path)
    if data is not None:
        try:
            raw = tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg_path}: not valid TOML: {exc}") from exc
        except RecursionError as exc:  # tomllib recurses once per nested array or table
            raise ConfigError(f"{cfg_path}: not valid TOML: nested too deeply") from exc
    elif explicit:
        raise ConfigError(f"configuration file {cfg_path} does not exist")
    _apply_env(raw, env)
    return config_from_dict(raw, source=str(cfg_path))


def _read_config(path: Path) -> bytes | None:
    """The file's bytes, or ``None`` if there is none; as root only a file only root can change."""
    if not path.exists():
        return None
    real = Path(os.path.realpath(path))  # resolved once: the file checked is the file read
    if os.geteuid() == 0:
        check_config_trust(real)
    try:
        content = read_regular(real, max_bytes=MAX_CONFIG_BYTES)
    except UnsafeFile as exc:
        raise ConfigError(f"configuration file {path}: {exc.message}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror or exc}") from exc
    if os.geteuid() == 0:
        why = untrusted_reason(content.stat, directory=False)
        if why is not None:  # changed between the check and the open
            raise ConfigError(_untrusted_message(path, Untrusted(path, why, True)))
    return content.data


def check_config_trust(path: Path) -> None:
    """Refuse (``ConfigError``) a configuration file another account than root could change.

    The file and every directory above it must be root's and not group or
    world writable; the message says how to fix it.
    """
    try:
        found = find_untrusted(path, strict_target=False)
    except OSError as exc:
        raise ConfigError(f"cannot check configuration file {path}: {exc.strerror or exc}") from exc
    if found is not None:
        raise ConfigError(_untrusted_message(path, found))


def _untrusted_message(path: Path, found: Untrusted) -> str:
    real = os.path.realpath(path)
    if found.is_target:
        fix = OWNERSHIP_FIX.format(path=real)
        what = f"configuration file {real}"
    else:
        fix = f"chown root {found.component} && chmod go-w {found.component}"
        what = f"{found.component} (a directory above configuration file {real})"
    return (
        f"{what} is {found.reason}; another account could change settings that root acts on, "
        f"so it is not read as root. Fix: {fix}"
    )


def config_from_dict(raw: Mapping[str, Any], *, source: str = "<dict>") -> Config:
    """Build a validated ``Config`` from parsed TOML."""
    kwargs: dict[str, Any] = {}
    known = {f.name: f for f in dataclasses.fields(Config)}
    for section, value in raw.items():
        if section not in known:
            raise ConfigError(f"{source}: unknown section [{section}]")
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: [{section}] must be a table")
        if section == "statuses":
            kwargs[section] = parse_statuses(value, source)
        elif section == "caller":
            kwargs[section] = build_section(CallerConfig, _inherit_reasons(value), f"{source}: [caller]")
        else:
            cls = typing.get_type_hints(Config)[section]
            kwargs[section] = build_section(cls, value, f"{source}: [{section}]")
    cfg = Config(**kwargs)
    _validate(cfg, source)
    return cfg


# The [caller] keys a per-reason table ([caller.busy] ...) has too.
_REASON_INHERITS = ("after_action", "fallback")


def _inherit_reasons(caller: Mapping[str, Any]) -> dict[str, Any]:
    """``[caller]`` with each per-reason table filled in from the section's own values.

    A per-reason table overrides the section: a key it leaves out keeps the
    ``[caller]`` value, so ``[caller.busy] fallback = "template"`` under
    ``[caller] after_action = "continue"`` still continues, rather than falling
    back to the built-in ``hangup``.
    """
    merged = dict(caller)
    inherited = {key: caller[key] for key in _REASON_INHERITS if key in caller}
    for reason in REASONS:
        table = caller.get(reason)
        if isinstance(table, Mapping):
            merged[reason] = {**inherited, **table}
    return merged


def _validate(cfg: Config, source: str) -> None:
    if not cfg.ari.url.startswith(("http://", "https://")):
        raise ConfigError(f"{source}: [ari] url must start with http:// or https://")
    if not cfg.http.public_url.startswith(("http://", "https://")):
        raise ConfigError(f"{source}: [http] public_url must start with http:// or https://")
    _host, sep, port = cfg.http.listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{source}: [http] listen must be host:port, not {cfg.http.listen!r}")
    if not cfg.database.url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError(f"{source}: [database] url must be sqlite:///path or postgresql://...")
    keys = cfg.phone.keys
    for name in ("record", "delete", "listen", "toggle", "repeat", "leave"):
        k = getattr(keys, name)
        if len(k) != 1 or k not in "0123456789*#":
            raise ConfigError(f"{source}: [phone.keys] {name} must be one DTMF key, not {k!r}")
    menu = [keys.record, keys.delete, keys.listen, keys.toggle, keys.repeat, keys.leave]
    if len(set(menu)) != len(menu):
        raise ConfigError(f"{source}: [phone.keys] menu keys must all differ")
    review = [keys.accept, keys.review_listen, keys.rerecord]
    if len(set(review)) != len(review):
        raise ConfigError(f"{source}: [phone.keys] review keys must all differ")
    if not cfg.phone.feature_code or any(c not in "0123456789*#" for c in cfg.phone.feature_code):
        raise ConfigError(f"{source}: [phone] feature_code must be DTMF digits, * or #")
    if cfg.phone.max_seconds <= 0 or cfg.phone.max_silence < 0:
        raise ConfigError(f"{source}: [phone] max_seconds must be > 0 and max_silence >= 0")
    if cfg.media.peak_dbfs > 0:
        raise ConfigError(f"{source}: [media] peak_dbfs must be <= 0")
    if cfg.media.history_days < 0 or cfg.media.orphan_hours < 1:
        raise ConfigError(f"{source}: [media] history_days must be >= 0 and orphan_hours >= 1")
    check_ranges(cfg, source)
    if cfg.phone.pin_lock_seconds > cfg.phone.pin_lock_max_seconds:
        raise ConfigError(f"{source}: [phone] pin_lock_seconds must not exceed pin_lock_max_seconds")


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    """Fold ``VOICESTATUS_SECTION__KEY[__SUBKEY]=value`` into the raw tree."""
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) < 2 or not all(parts):
            continue
        node = raw
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment {name}: [{part}] is not a table")
            node = child
        node[parts[-1]] = value
