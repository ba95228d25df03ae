"""Configuration: one TOML file plus ``VOICESTATUS_<SECTION>__<KEY>`` overrides.

The file is read once at start and turned into frozen dataclasses that are
passed down; nothing reads the environment or the file afterwards. Unknown
sections or keys are errors, because a typo in a PBX config that silently
falls back to a default is how callers end up hearing the wrong thing.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from voicestatus.errors import ConfigError

ENV_PREFIX = "VOICESTATUS_"
DEFAULT_CONFIG_PATH = Path("voicestatus.toml")

AfterAction = Literal["hangup", "continue"]
Fallback = Literal["template", "hangup", "continue"]
Reason = Literal["noanswer", "busy", "unavail"]
REASONS: tuple[Reason, ...] = ("noanswer", "busy", "unavail")


@dataclass(frozen=True)
class AriConfig:
    url: str = "http://127.0.0.1:8088"
    username: str = "voicestatus"
    password: str = ""
    app: str = "voicestatus"
    request_timeout: float = 5.0
    reconnect_min_delay: float = 0.5
    reconnect_max_delay: float = 30.0


@dataclass(frozen=True)
class HttpConfig:
    listen: str = "127.0.0.1:8080"
    public_url: str = "http://127.0.0.1:8080"
    metrics_public: bool = True
    session_hours: float = 12.0
    login_attempts: int = 10
    login_window_seconds: float = 300.0
    trusted_proxies: str = ""
    list_cache_seconds: float = 2.0

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0] or "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite:///./voicestatus.db"


@dataclass(frozen=True)
class MediaConfig:
    dir: str = "./media"
    target_lufs: float = -20.0
    peak_dbfs: float = -1.0
    max_upload_bytes: int = 20 * 1024 * 1024
    max_upload_seconds: float = 300.0
    history_days: int = 30
    orphan_hours: float = 24.0


@dataclass(frozen=True)
class OperatorsConfig:
    pattern: str = "_1XX"


@dataclass(frozen=True)
class PhoneKeys:
    record: str = "1"
    delete: str = "2"
    listen: str = "3"
    toggle: str = "4"
    repeat: str = "0"
    leave: str = "*"
    accept: str = "1"
    review_listen: str = "2"
    rerecord: str = "3"


@dataclass(frozen=True)
class PhoneConfig:
    feature_code: str = "*600"
    max_seconds: int = 60
    max_silence: int = 5
    min_talk_seconds: float = 1.0
    menu_timeout: float = 10.0
    menu_repeats: int = 2
    pin_tries: int = 3
    keys: PhoneKeys = field(default_factory=PhoneKeys)


@dataclass(frozen=True)
class ReasonConfig:
    play_message: bool = True
    after_action: AfterAction = "hangup"
    fallback: Fallback = "template"


@dataclass(frozen=True)
class CallerConfig:
    after_action: AfterAction = "hangup"
    fallback: Fallback = "template"
    media_wait_ms: int = 500
    message_cache_seconds: float = 2.0
    noanswer: ReasonConfig | None = None
    busy: ReasonConfig | None = None
    unavail: ReasonConfig | None = None

    def for_reason(self, reason: Reason) -> ReasonConfig:
        """Settings for one reason: its own table if given, else the section's."""
        own: ReasonConfig | None = getattr(self, reason)
        if own is not None:
            return own
        return ReasonConfig(after_action=self.after_action, fallback=self.fallback)


@dataclass(frozen=True)
class Status:
    digit: int
    key: str
    names: Mapping[str, str]


def _default_statuses() -> tuple[Status, ...]:
    return (Status(digit=1, key="away", names={"en": "Away", "ru": "Нет на месте"}),)


@dataclass(frozen=True)
class AsteriskConfig:
    sounds_dir: str = ""
    dial_template: str = "PJSIP/${EXTEN}"
    ring_seconds: int = 20
    ami_url: str = "tcp://127.0.0.1:5038"
    ami_username: str = ""
    ami_password: str = ""


@dataclass(frozen=True)
class FreepbxConfig:
    config_file: str = "/etc/freepbx.conf"
    database_url: str = ""
    reload_command: str = "fwconsole reload"
    destination: str = "voicestatus-unavailable,s,1"


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


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (if it exists) and apply environment overrides.

    An explicitly named file that does not exist is an error; the default
    ``./voicestatus.toml`` may be absent (defaults then apply).
    """
    env = os.environ if environ is None else environ
    explicit = path is not None or "VOICESTATUS_CONFIG" in env
    cfg_path = Path(path or env.get("VOICESTATUS_CONFIG") or DEFAULT_CONFIG_PATH)
    raw: dict[str, Any] = {}
    if cfg_path.exists():
        try:
            raw = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg_path}: not valid TOML: {exc}") from exc
    elif explicit:
        raise ConfigError(f"configuration file {cfg_path} does not exist")
    _apply_env(raw, env)
    return config_from_dict(raw, source=str(cfg_path))


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
            kwargs[section] = _parse_statuses(value, source)
        else:
            cls = typing.get_type_hints(Config)[section]
            kwargs[section] = _build(cls, value, f"{source}: [{section}]")
    cfg = Config(**kwargs)
    _validate(cfg, source)
    return cfg


def _build(cls: type[Any], values: Mapping[str, Any], where: str) -> Any:
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
        return _build(tp, value, where)
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


def _parse_statuses(value: Mapping[str, Any], source: str) -> tuple[Status, ...]:
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


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    """Fold ``VOICESTATUS_SECTION__KEY[__SUBKEY]=value`` into the raw tree."""
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == "VOICESTATUS_CONFIG":
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
