"""The settings of each ``voicestatus.toml`` section, one frozen dataclass per table.

They live apart from ``Config`` and the loader so the field lists and their
defaults - what an operator reads when writing the file - are in one place.
The loader derives the accepted keys and their types from these annotations,
so a field added here is configurable from TOML and the environment without
touching the loader; the annotations must therefore stay resolvable at run
time. Import them from ``voicestatus.config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from voicestatus.errors import ConfigError

AfterAction = Literal["hangup", "continue"]
Fallback = Literal["template", "hangup", "continue"]
Reason = Literal["noanswer", "busy", "unavail"]
Identify = Literal["endpoint", "callerid"]
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
    # Failed web logins per client address (IPv6: per /64) in the window, then
    # that address alone is locked out for a window, doubling on repeats; per
    # account the ceiling is ten times higher (see web/auth.py LoginLimiter).
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
    # Uploads decoded at the same time (each takes a CPU core for up to a
    # second or two); up to decode_queue more wait their turn (at most 30 s),
    # beyond that an upload is refused with 503 uploads-busy, to be retried.
    max_concurrent_decodes: int = 2
    decode_queue: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.max_concurrent_decodes <= 64 or not 0 <= self.decode_queue <= 1000:
            raise ConfigError(
                "[media] max_concurrent_decodes must be between 1 and 64 and decode_queue between 0 and 1000"
            )


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
    # Who is calling: the channel's authenticated endpoint (PJSIP/<endpoint>-...),
    # or, only when set to "callerid", the caller ID number anyone upstream can set.
    identify: Identify = "endpoint"
    # Wrong PINs (phone and web share the count) per extension and per calling
    # endpoint before a lock-out; it lasts pin_lock_seconds, doubling up to the cap.
    pin_lock_after: int = 5
    pin_lock_seconds: float = 60.0
    pin_lock_max_seconds: float = 3600.0
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
        """Settings for one reason: its own table if given, else the section's.

        A table loaded from TOML already holds the section's values for the
        keys it leaves out (``config._inherit_reasons``): it overrides, never resets.
        """
        own: ReasonConfig | None = getattr(self, reason)
        if own is not None:
            return own
        return ReasonConfig(after_action=self.after_action, fallback=self.fallback)


@dataclass(frozen=True)
class Status:
    digit: int
    key: str
    names: Mapping[str, str]


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
    # A reload that takes longer is stopped and reported; fwconsole reload usually needs 10-60 s.
    reload_timeout: float = 180.0
    destination: str = "voicestatus-unavailable,s,1"
