"""Configuration: TOML, environment overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicestatus.config import Config, ReasonConfig, config_from_dict, load_config
from voicestatus.errors import ConfigError

EXAMPLE = Path(__file__).parents[2] / "voicestatus.example.toml"


def test_defaults_match_the_spec() -> None:
    cfg = Config()
    assert cfg.ari.app == "voicestatus"
    assert cfg.http.listen == "127.0.0.1:8080"
    assert cfg.operators.pattern == "_1XX"
    assert cfg.phone.feature_code == "*600"
    assert cfg.phone.max_seconds == 60
    assert cfg.phone.max_silence == 5
    assert cfg.media.target_lufs == -20.0
    assert [(s.digit, s.key) for s in cfg.statuses] == [(1, "away")]
    assert cfg.caller.for_reason("busy") == ReasonConfig(after_action="hangup", fallback="template")


def test_the_shipped_example_loads(tmp_path: Path) -> None:
    cfg = load_config(EXAMPLE, environ={})
    assert cfg.ari.app == "voicestatus"


def test_missing_default_file_gives_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(environ={}) == Config()


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "vs.toml"
    path.write_text('[ari]\nurl = "http://pbx:8088"\npassword = "file"\n[phone]\nmax_seconds = 30\n')
    env = {
        "VOICESTATUS_ARI__PASSWORD": "from-env",
        "VOICESTATUS_PHONE__MAX_SECONDS": "45",
        "VOICESTATUS_HTTP__METRICS_PUBLIC": "false",
        "VOICESTATUS_PHONE__KEYS__LEAVE": "#",
        "VOICESTATUS_CALLER__BUSY__AFTER_ACTION": "continue",
        "UNRELATED": "x",
    }
    cfg = load_config(path, environ=env)
    assert cfg.ari.url == "http://pbx:8088"
    assert cfg.ari.password == "from-env"
    assert cfg.phone.max_seconds == 45
    assert cfg.http.metrics_public is False
    assert cfg.phone.keys.leave == "#"
    assert cfg.caller.for_reason("busy").after_action == "continue"
    assert cfg.caller.for_reason("noanswer").after_action == "hangup"


def test_a_partial_reason_table_inherits_the_caller_section() -> None:
    """``[caller.busy]`` overrides ``[caller]``: the keys it leaves out keep the section's values."""
    cfg = config_from_dict(
        {"caller": {"after_action": "continue", "fallback": "hangup", "busy": {"fallback": "template"}}}
    )
    assert cfg.caller.for_reason("busy") == ReasonConfig(after_action="continue", fallback="template")
    assert cfg.caller.for_reason("noanswer") == ReasonConfig(after_action="continue", fallback="hangup")


def test_a_reason_table_from_the_environment_inherits_too(tmp_path: Path) -> None:
    path = tmp_path / "vs.toml"
    path.write_text('[caller]\nafter_action = "continue"\n')
    cfg = load_config(path, environ={"VOICESTATUS_CALLER__BUSY__PLAY_MESSAGE": "false"})
    assert cfg.caller.for_reason("busy") == ReasonConfig(play_message=False, after_action="continue")


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('[operators]\npattern = "101-199,205"\n')
    cfg = load_config(environ={"VOICESTATUS_CONFIG": str(path)})
    assert cfg.operators.pattern == "101-199,205"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"nope": {}}, "unknown section"),
        ({"ari": {"pasword": "x"}}, "unknown key 'pasword'"),
        ({"ari": {"url": "pbx:8088"}}, "must start with http"),
        ({"http": {"listen": "8080"}}, "host:port"),
        ({"phone": {"max_seconds": "sixty"}}, "must be a number"),
        ({"phone": {"keys": {"record": "12"}}}, "one DTMF key"),
        ({"phone": {"keys": {"delete": "1"}}}, "must all differ"),
        ({"phone": {"feature_code": "*600;System(x)"}}, "feature_code"),
        ({"caller": {"after_action": "explode"}}, "must be one of"),
        ({"database": {"url": "mysql://x"}}, "sqlite"),
        ({"statuses": {"0": {"key": "x"}}}, "digits 1 to 9"),
        ({"statuses": {"1": {"key": "a b"}}}, "ASCII"),
        ({"phone": {"pin_lock_after": 0}}, r"pin_lock_after must be between 1 and 1000"),
        ({"phone": {"pin_lock_seconds": 7200}}, "must not exceed pin_lock_max_seconds"),
    ],
)
def test_bad_values_name_the_problem(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(raw)


def test_statuses_catalogue() -> None:
    cfg = config_from_dict(
        {"statuses": {"2": {"key": "lunch", "names": {"en": "Lunch"}}, "1": {"key": "away"}}}
    )
    assert [(s.digit, s.key) for s in cfg.statuses] == [(1, "away"), (2, "lunch")]


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[ari\nurl=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, environ={})
