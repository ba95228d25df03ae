"""Hostile configuration values: every key of every section, from TOML and from the environment.

A PBX administrator (or a deployment script) can put anything into
``voicestatus.toml`` or a ``VOICESTATUS_<SECTION>__<KEY>`` variable. Each
value must either be refused at load with a ``ConfigError`` that names the
key, or give a configuration the service can run with: finite numbers in a
sane range (a NaN timeout or a negative upload limit is a crash or a hole
later, far from its cause), no control characters in any string (a CR/LF in a
URL is a header injection), and nothing that makes the dialplan generator or
the operator pattern fail with anything but a ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import math
import typing
from pathlib import Path
from typing import Any

import pytest

from hostile_support import generate, tally
from voicestatus.asterisk.dialplan import render_dialplan
from voicestatus.config import Config, config_from_dict, load_config
from voicestatus.errors import ConfigError
from voicestatus.services.extensions import ExtensionPattern

# The range a loaded value must fall in, when it is accepted at all.
BOUNDS: dict[tuple[str, str], tuple[float, float]] = {
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
    ("caller", "media_wait_ms"): (0, 60_000),
    ("caller", "message_cache_seconds"): (0, 3600),
    ("asterisk", "ring_seconds"): (1, 600),
}

NUMBER_VALUES: list[Any] = [
    math.nan,
    math.inf,
    -math.inf,
    -1,
    -0.5,
    -(10**30),
    10**30,
    1e308,
    -1e308,
    0,
    True,
    False,
    [],
    {},
    "",
    "nan",
    "inf",
    "-1",
    "1e999",
    "10\r\n",
    "1\x00",
    "١٢",
    "0x10",
    "12abc",
    2.5,
    dt.datetime(2030, 1, 1),
    "9" * 5000,
]
STRING_VALUES: list[Any] = [
    "x\r\nInjected: 1",
    "\n",
    "\x00",
    "a\x1bb",
    "tab\there",
    "\x7f",
    [],
    {},
    True,
    1.5,
    dt.date(2030, 1, 1),
    "a" * 100_000,
]
BOOL_VALUES: list[Any] = ["maybe", 2, 1.0, [], {}, "", "TRUE\n", "yes please"]
URL_VALUES: list[str] = [
    "http://127.0.0.1:8088\r\nX-Injected: 1",
    "http://127.0.0.1\n:8088",
    "http://127.0.0.1\x00:8088",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "ftp://127.0.0.1/",
    "//127.0.0.1:8088",
    "",
    "http://[::1",
    "gopher://127.0.0.1:70/_x",
]
URL_KEYS = [
    ("ari", "url"),
    ("http", "public_url"),
    ("database", "url"),
    ("asterisk", "ami_url"),
    ("freepbx", "database_url"),
]
LITERAL_VALUES: list[Any] = ["HANGUP", "", 1, "hangup\n", "template ", [], "continue;hangup"]
OTHER_STRINGS: dict[tuple[str, str], list[str]] = {
    ("http", "listen"): ["127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1", ":", "x:８０"],
    ("http", "trusted_proxies"): ["not-an-ip", "10.0.0.0/33", "1.2.3.4,,garbage", "::1/200", "*"],
    ("operators", "pattern"): ["_", "_X" * 40, "9-1", "1-" + "9" * 30, "_[", "_1XX!", "abc", "١٠١"],
    ("ari", "app"): ["voicestatus,menu", "vs)", "x" * 100, "vs\nexten"],
    ("phone", "feature_code"): ["*600\n", "6a0", "*" * 50, "١"],
    ("asterisk", "dial_template"): ["PJSIP/${EXTEN}\nexten => x", "PJSIP/${SHELL}", "SIP/${EXTEN},1,tT"],
    ("media", "dir"): ["../../../../etc", "/proc/self", "media\x00x"],
    ("freepbx", "reload_command"): ["fwconsole reload; rm -rf /", "$(id)"],
}


def _fields() -> list[tuple[str, str, Any]]:
    """(section, key, type) for every key of every section, [caller.<reason>] included."""
    found: list[tuple[str, str, Any]] = []
    for section in dataclasses.fields(Config):
        if section.name == "statuses":
            continue
        cls = typing.get_type_hints(Config)[section.name]
        for key, tp in typing.get_type_hints(cls).items():
            if key in ("keys", "noanswer", "busy", "unavail"):
                continue
            found.append((section.name, key, tp))
    return found


def _values_for(section: str, key: str, tp: Any) -> list[Any]:
    if typing.get_origin(tp) is typing.Literal:
        return LITERAL_VALUES
    if tp is bool:
        return BOOL_VALUES
    if tp in (int, float):
        return NUMBER_VALUES
    values = list(STRING_VALUES)
    if (section, key) in URL_KEYS:
        values += URL_VALUES
    return values + OTHER_STRINGS.get((section, key), [])


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if dataclasses.is_dataclass(obj):
        return [s for f in dataclasses.fields(obj) for s in _strings(getattr(obj, f.name))]
    if isinstance(obj, tuple | list):
        return [s for item in obj for s in _strings(item)]
    if isinstance(obj, dict) or hasattr(obj, "items"):
        return [s for k, v in obj.items() for s in (*_strings(k), *_strings(v))]
    return []


def harmless_problems(cfg: Config) -> list[str]:
    """Why an accepted configuration would hurt the service later (empty: it would not)."""
    problems = []
    for (section, key), (low, high) in BOUNDS.items():
        value = getattr(getattr(cfg, section), key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"[{section}] {key} is {value!r}, not a number")
        elif not (math.isfinite(value) and low <= value <= high):
            problems.append(f"[{section}] {key} = {value!r} is outside {low}..{high}")
    for text in _strings(cfg):
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            problems.append(f"control character in {text[:60]!r}")
    for spec in cfg.http.trusted_proxies.split(","):
        if spec.strip():
            try:
                ipaddress.ip_network(spec.strip(), strict=False)
            except ValueError:
                problems.append(f"[http] trusted_proxies: {spec!r} is not an address or network")
    for part, check in (
        ("pattern", lambda: ExtensionPattern.parse(cfg.operators.pattern)),
        ("dialplan", lambda: render_dialplan(cfg, "asterisk")),
    ):
        try:
            check()
        except ConfigError:
            pass  # refused where it is used, with a clear message: fine
        except Exception as exc:
            problems.append(f"{part}: {type(exc).__name__}: {exc}"[:200])
    return problems


def _try(raw: dict[str, Any]) -> list[str]:
    """Load ``raw``; the problems with the outcome (a clear ConfigError is none)."""
    try:
        cfg = config_from_dict(raw)
    except ConfigError:
        return []
    except Exception as exc:
        return [f"{type(exc).__name__} instead of ConfigError: {exc}"[:200]]
    return harmless_problems(cfg)


def test_every_key_refuses_or_survives_hostile_toml_values() -> None:
    """Every key of every section, with wrong types, NaN, huge/negative numbers, CR/LF, paths."""
    failures: list[str] = []
    tried = 0
    for section, key, tp in _fields():
        for value in _values_for(section, key, tp):
            tried += 1
            failures += [f"[{section}] {key} = {value!r:.60}: {p}" for p in _try({section: {key: value}})]
    for reason in ("noanswer", "busy", "unavail"):
        for value in [*LITERAL_VALUES, "x", 1, [], {"play_message": "sometimes"}, {"fallback": "\r\n"}]:
            tried += 1
            raw = {"caller": {reason: value if isinstance(value, dict) else {"after_action": value}}}
            failures += [f"[caller.{reason}] {value!r:.60}: {p}" for p in _try(raw)]
    for key in ("record", "accept", "leave"):
        for value in ["", "11", "A", "\n", 1, [], "١", "**"]:
            tried += 1
            failures += [
                f"[phone.keys] {key}={value!r}: {p}" for p in _try({"phone": {"keys": {key: value}}})
            ]
    tally("config", tried)
    assert not failures, "\n".join(failures[:40])


def test_statuses_and_sections_refuse_hostile_shapes() -> None:
    """[statuses] digits, keys and names, and sections that are not tables."""
    cases: list[dict[str, Any]] = [
        {"statuses": {"0": {"key": "x"}}},
        {"statuses": {"10": {"key": "x"}}},
        {"statuses": {"١": {"key": "x"}}},
        {"statuses": {"1": {"key": "../x"}}},
        {"statuses": {"1": {"key": "a b"}}},
        {"statuses": {"1": {"key": "é"}}},
        {"statuses": {"1": {"key": ""}}},
        {"statuses": {"1": {"key": "x" * 1000}}},
        {"statuses": {"1": {"key": "away", "names": {"en": "Away\r\nX"}}}},
        {"statuses": {"1": {"key": "away", "names": {"en": 5}}}},
        {"statuses": {"1": {"key": "away", "names": "Away"}}},
        {"statuses": {"1": "away"}},
        {"statuses": {}},
        {"statuses": {"1": {"key": "a"}, "2": {"key": "a"}}},
        {"statuses": {"1": {"key": "1"}, "2": {"key": "x"}}},
        {"ari": "http://x"},
        {"ari": []},
        {"nosuch": {}},
        {"ari": {"nosuch": 1}},
        {"statuses": []},
    ]
    failures = [f"{raw!r:.80}: {p}" for raw in cases for p in _try(raw)]
    tally("config", len(cases))
    assert not failures, "\n".join(failures)


def test_environment_overrides_refuse_or_survive_hostile_strings(tmp_path: Path) -> None:
    """``VOICESTATUS_<SECTION>__<KEY>`` values are strings: the same rules, through the loader."""
    path = tmp_path / "voicestatus.toml"
    path.write_text('[ari]\nurl = "http://127.0.0.1:8088"\n')
    # The file itself loads: every refusal below is the hostile value's doing.
    assert load_config(path, environ={"VOICESTATUS_PHONE__PIN_TRIES": "4"}).phone.pin_tries == 4
    values = [v for v in [*STRING_VALUES, *URL_VALUES, "nan", "-inf", "-5", "1e308"] if isinstance(v, str)]
    failures: list[str] = []
    tried = 0
    for section, key, _tp in _fields():
        for value in values:
            tried += 1
            name = f"VOICESTATUS_{section.upper()}__{key.upper()}"
            try:
                cfg = load_config(path, environ={name: value})
            except ConfigError:
                continue
            except Exception as exc:
                failures.append(f"{name}={value!r:.40}: {type(exc).__name__}: {exc}"[:200])
                continue
            failures += [f"{name}={value!r:.40}: {p}" for p in harmless_problems(cfg)]
    odd_names = {
        "VOICESTATUS_ARI__URL__DEEPER": "x",
        "VOICESTATUS_STATUSES__1": "x",
        "VOICESTATUS_STATUSES__1__KEY": "../x",
        "VOICESTATUS_PHONE__KEYS": "1",
        "VOICESTATUS___": "x",
        "VOICESTATUS_ARI____URL": "x",
        "VOICESTATUS_NOSUCH__KEY": "x",
    }
    for name, value in odd_names.items():
        tried += 1
        try:
            cfg = load_config(path, environ={name: value})
        except ConfigError:
            continue
        except Exception as exc:
            failures.append(f"{name}: {type(exc).__name__}: {exc}"[:200])
            continue
        failures += [f"{name}: {p}" for p in harmless_problems(cfg)]
    tally("config", tried)
    assert not failures, "\n".join(failures[:40])


@pytest.mark.parametrize(
    "text",
    [
        b"[ari\nurl = 1",
        b"\xff\xfe[ari]",
        b'[ari]\nurl = "http://x"\n[ari]\nurl = "http://y"',
        b"x = " + b"[" * 5000 + b"]" * 5000,
        b"[" + b"a." * 2000 + b"b]",
        b"\x00",
        b'[ari]\nurl = """http://x\r\nY: z"""',
        b"[media]\nmax_upload_bytes = 99999999999999999999",
    ],
)
def test_malformed_toml_files_are_config_errors(tmp_path: Path, text: bytes) -> None:
    """A broken or absurd file is a ConfigError naming the file, never a traceback."""
    path = tmp_path / "voicestatus.toml"
    path.write_bytes(text)
    tally("config", 1)
    try:
        cfg = load_config(path, environ={})
    except ConfigError as exc:
        message = str(exc)
    else:
        assert harmless_problems(cfg) == []
        return
    assert str(path) in message or "[" in message, "the error names the file or the key"


def test_generated_env_values_for_numbers_and_urls(tmp_path: Path) -> None:
    """Generated strings (any unicode) for a number, a URL and a free string key."""
    from hypothesis import strategies as st

    path = tmp_path / "voicestatus.toml"
    path.write_text("")
    assert load_config(path, environ={"VOICESTATUS_ARI__APP": "vs-1"}).ari.app == "vs-1"
    texts = generate(st.text(max_size=40), 60)
    failures = []
    tally("config", 3 * len(texts))
    for value in texts:
        for name in (
            "VOICESTATUS_PHONE__MENU_TIMEOUT",
            "VOICESTATUS_HTTP__PUBLIC_URL",
            "VOICESTATUS_ARI__APP",
        ):
            try:
                cfg = load_config(path, environ={name: value})
            except ConfigError:
                continue
            except Exception as exc:
                failures.append(f"{name}={value!r}: {type(exc).__name__}: {exc}"[:200])
                continue
            failures += [f"{name}={value!r}: {p}" for p in harmless_problems(cfg)]
    assert len(texts) >= 50
    assert not failures, "\n".join(failures[:40])
