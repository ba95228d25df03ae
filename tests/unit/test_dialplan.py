"""The generated dialplan, read back the way Asterisk's config parser reads it.

``parse`` splits the text into contexts, extensions and priorities and fails
on any line Asterisk would treat as something else, so the checks below are
about what an admin would look for: which callers reach the feature code,
which entries exist, what happens when the service is down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from voicestatus.asterisk.dialplan import DialplanOptions, render_dialplan
from voicestatus.asterisk.sounds import DIALPLAN_SOUNDS
from voicestatus.cli import main
from voicestatus.config import AriConfig, Config, OperatorsConfig, PhoneConfig
from voicestatus.errors import ConfigError


@dataclass
class Extension:
    name: str
    callerid: str | None
    apps: list[str] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)


def parse(text: str) -> dict[str, list[Extension]]:
    contexts: dict[str, list[Extension]] = {}
    current: list[Extension] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        assert ";--" not in line, f"line {number} opens a block comment"
        if not line.strip() or line.startswith(";"):
            continue
        if m := re.fullmatch(r"\[([a-z-]+)\]", line):
            current = contexts.setdefault(m.group(1), [])
        elif m := re.fullmatch(r"exten => ([^,/]+)(?:/([^,]+))?,1,(.+)", line):
            assert current is not None, f"line {number}: exten outside a context"
            current.append(Extension(m.group(1), m.group(2), [m.group(3)]))
        elif m := re.fullmatch(r" same => n(?:\(([a-z_]+)\))?,(.+)", line):
            assert current, f"line {number}: same => without exten"
            ext = current[-1]
            ext.apps.append(m.group(2))
            if m.group(1):
                assert m.group(1) not in ext.labels, f"line {number}: duplicate label"
                ext.labels[m.group(1)] = len(ext.apps)
        else:
            pytest.fail(f"line {number} is not a context, exten, same or comment: {line!r}")
        assert ";" not in line, f"line {number}: ';' would start a comment"
    return contexts


def only(contexts: dict[str, list[Extension]], context: str, name: str) -> Extension:
    found = [e for e in contexts[context] if e.name == name]
    assert len(found) == 1
    return found[0]


def config(pattern: str = "_1XX", **sections: object) -> Config:
    return Config().replace(operators=OperatorsConfig(pattern=pattern), **sections)


@pytest.mark.parametrize("target", ["asterisk", "freepbx"])
def test_every_line_is_dialplan_and_every_jump_has_its_label(target: str) -> None:
    contexts = parse(render_dialplan(config("101-199,205"), target))  # type: ignore[arg-type]
    for extensions in contexts.values():
        for ext in extensions:
            for app in ext.apps:
                for label in re.findall(r"\?([a-z_]+)\)$|^Goto\(([a-z_]+)\)$", app):
                    target_label = label[0] or label[1]
                    assert target_label in ext.labels, (ext.name, app)


def test_context_names_per_target() -> None:
    plain = parse(render_dialplan(config(), "asterisk"))
    freepbx = parse(render_dialplan(config(), "freepbx"))
    assert list(plain) == ["voicestatus-menu", "voicestatus-unavailable", "voicestatus-dial"]
    assert list(freepbx) == ["voicestatus-menu", "voicestatus-unavailable"]


def test_feature_code_only_for_allowed_callers() -> None:
    contexts = parse(render_dialplan(config("101-199,205"), "asterisk"))
    allowed = [e for e in contexts["voicestatus-menu"] if e.callerid is not None]
    assert [(e.name, e.callerid) for e in allowed] == [
        ("*600", "_10Z"), ("*600", "_1ZX"), ("*600", "205"),
    ]  # fmt: skip
    for ext in allowed:
        assert "Stasis(voicestatus,menu)" in ext.apps
        failed = ext.apps[ext.labels["failed"] - 1 :]
        assert failed[0] == "Answer()"
        assert failed[1].startswith("Playback(")
    (others,) = [e for e in contexts["voicestatus-menu"] if e.callerid is None]
    assert others.name == "*600"
    assert not any("Stasis" in a for a in others.apps)
    assert "Playback(feature-not-avail-line)" in others.apps


def test_feature_code_and_app_name_come_from_config() -> None:
    cfg = config("_2XX").replace(phone=PhoneConfig(feature_code="*77#"), ari=AriConfig(app="vs-2"))
    text = render_dialplan(cfg, "freepbx")
    assert "exten => *77#/_2XX,1," in text
    assert "Stasis(vs-2,menu)" in text
    assert "Stasis(vs-2,unavailable," in text
    assert "*600" not in text
    assert "_*" not in text


def test_unavailable_entries_and_stasis_arguments() -> None:
    contexts = parse(render_dialplan(config(), "freepbx"))
    s = only(contexts, "voicestatus-unavailable", "s")
    pattern = only(contexts, "voicestatus-unavailable", "_X.")
    assert "Stasis(voicestatus,unavailable,,${VS_REASON})" in s.apps
    assert "Set(VS_RAW=${EXTTOCALL})" in s.apps
    assert "Set(VS_RAW=${CONNECTEDLINE(num,i)})" in s.apps
    assert "Stasis(voicestatus,unavailable,${VS_EXT},${VS_REASON})" in pattern.apps
    assert "Set(VS_RAW=${EXTEN})" in pattern.apps


def test_reason_comes_from_voicestatus_reason_else_dialstatus() -> None:
    s = only(parse(render_dialplan(config(), "asterisk")), "voicestatus-unavailable", "s")
    text = "\n".join(s.apps)
    assert '"${VS_REASON}" = "busy"' in text
    assert "${VOICESTATUS_REASON}" in text
    assert "Set(VS_REASON=noanswer)" in text
    assert '"${VS_DIALSTATUS}" = "BUSY"]?Set(VS_REASON=busy)' in text
    assert (
        '"${VS_DIALSTATUS}" = "CHANUNAVAIL" | "${VS_DIALSTATUS}" = "CONGESTION"]'
        "?Set(VS_REASON=unavail)" in text
    )


@pytest.mark.parametrize("name", ["s", "_X."])
def test_service_down_falls_back_to_mirror_then_template(name: str) -> None:
    ext = only(parse(render_dialplan(config(), "asterisk")), "voicestatus-unavailable", name)
    after_stasis = ext.apps[next(i for i, a in enumerate(ext.apps) if a.startswith("Stasis")) + 1]
    assert after_stasis.startswith('GotoIf($["${STASISSTATUS}" = "FAILED"')
    assert after_stasis.endswith("?failed)")
    failed = ext.apps[ext.labels["failed"] - 1 :]
    assert failed[0] == "Answer()"
    assert "Set(VS_MIRROR=${DB(voicestatus/${VS_EXT})})" in failed
    assert "Playback(${VS_SAFE})" in failed
    template = ext.apps[ext.labels["template"] - 1 :]
    assert template[:3] == ["Playback(vm-theperson)", "SayDigits(${VS_EXT})", "Playback(vm-isunavail)"]
    assert ext.apps[ext.labels["generic"] - 1] == "Playback(vm-nobodyavail)"
    assert ext.apps[-1] == "Hangup()"


def test_successful_return_continues_or_hangs_up() -> None:
    ext = only(parse(render_dialplan(config(), "asterisk")), "voicestatus-unavailable", "_X.")
    at = ext.labels["continue"] - 1
    assert ext.apps[at] == "GotoIf($[${LEN(${VOICESTATUS_CONTINUE})} = 0]?hangup)"
    assert ext.apps[at + 1] == "Goto(${VOICESTATUS_CONTINUE})"
    assert ext.apps[ext.labels["hangup"] - 1] == "Hangup()"


def test_dial_wrapper_only_for_operators() -> None:
    dial = parse(render_dialplan(config("101-199,205"), "asterisk"))["voicestatus-dial"]
    assert [e.name for e in dial] == ["_10Z", "_1ZX", "205"]
    for ext in dial:
        assert "Dial(PJSIP/${EXTEN},20)" in ext.apps
        assert any("?voicestatus-unavailable,${VS_EXT},1)" in a for a in ext.apps)
        assert ext.apps.index("Dial(PJSIP/${EXTEN},20)") > ext.labels["digits_ok"] - 1


def test_dial_options_from_config_sections() -> None:
    asterisk = SimpleNamespace(sounds_dir="", dial_template="PJSIP/${EXTEN}&Local/${EXTEN}@x",
                               ring_seconds=35)  # fmt: skip
    text = render_dialplan(config().replace(asterisk=asterisk), "asterisk")
    assert "Dial(PJSIP/${EXTEN}&Local/${EXTEN}@x,35)" in text


def test_caller_controlled_values_never_reach_a_shell_or_an_expression() -> None:
    text = render_dialplan(config(), "asterisk") + render_dialplan(config(), "freepbx")
    assert "System(" not in text
    assert "SHELL(" not in text
    raw = ("${EXTTOCALL}", "${CONNECTEDLINE(num,i)}", "${EXTEN}", "${VS_RAW}", "${CALLERID")
    for line in text.splitlines():
        for expr in re.findall(r"\$\[(.*?)\]\?", line):
            for value in raw:
                assert value not in expr.replace("${LEN(" + value, ""), line


def test_prompts_are_the_declared_core_sounds() -> None:
    text = render_dialplan(config(), "asterisk")
    played = set()
    for args in re.findall(r"Playback\(([^)]*)\)", text):
        played.update(args.split("&"))
    assert played - set(DIALPLAN_SOUNDS) == {"${VS_SAFE}"}


def test_header_names_the_generator_the_config_and_how_to_include() -> None:
    text = render_dialplan(config(), "freepbx", source="/etc/voicestatus.toml")
    head = text.split("\n[", 1)[0]
    assert "voicestatus dialplan --target freepbx" in head
    assert "/etc/voicestatus.toml" in head
    assert "include => voicestatus-menu" in head
    assert "voicestatus-unavailable,s,1" in head
    assert "[from-internal-custom]" not in parse(text)


def test_source_cannot_inject_lines() -> None:
    text = render_dialplan(config(), "asterisk", source="x\nexten => 1,1,System(id);--")
    assert "System(" not in text.replace("; Configuration: x?exten => 1,1,System(id)?--", "")
    parse(text)


@pytest.mark.parametrize(
    "bad",
    [
        {"ari": AriConfig(app="voicestatus,menu)")},
        {"ari": AriConfig(app="vs;x")},
        {"ari": AriConfig(app="vs\nexten => 1,1,System(id)")},
        {"phone": PhoneConfig(feature_code="*600,1,System(id)")},
        {"phone": PhoneConfig(feature_code="_X.")},
        {"phone": PhoneConfig(feature_code="")},
        {"operators": OperatorsConfig(pattern="101;System(id)")},
        {"asterisk": SimpleNamespace(dial_template="PJSIP/${EXTEN},,U(x)", ring_seconds=20)},
        {"asterisk": SimpleNamespace(dial_template="PJSIP/${SHELL(id)}", ring_seconds=20)},
        {"asterisk": SimpleNamespace(dial_template="PJSIP/101", ring_seconds=20)},
        {"asterisk": SimpleNamespace(dial_template="PJSIP/${EXTEN}", ring_seconds=0)},
        {"asterisk": SimpleNamespace(dial_template="PJSIP/${EXTEN}", ring_seconds="20,U")},
    ],
)
def test_hostile_config_values_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        render_dialplan(Config().replace(**bad), "asterisk")


def test_unknown_target_is_refused() -> None:
    with pytest.raises(ConfigError):
        render_dialplan(Config(), "pbx")  # type: ignore[arg-type]


def test_defaults_need_no_config_keys() -> None:
    options = DialplanOptions.from_config(Config())
    assert (options.dial_template, options.ring_seconds) == ("PJSIP/${EXTEN}", 20)


def test_cli_prints_and_writes(tmp_path: Path) -> None:
    cfg = tmp_path / "vs.toml"
    cfg.write_text('[operators]\npattern = "200-210"\n', encoding="utf-8")
    runner = CliRunner()
    printed = runner.invoke(main, ["dialplan", "--target", "freepbx", "--config", str(cfg)])
    assert printed.exit_code == 0, printed.output
    assert "exten => *600/_20X,1," in printed.output
    assert "210" in printed.output
    assert str(cfg) in printed.output
    assert "[voicestatus-dial]" not in printed.output

    out = tmp_path / "voicestatus.conf"
    written = runner.invoke(main, ["dialplan", "--config", str(cfg), "-o", str(out)])
    assert written.exit_code == 0, written.output
    assert "[voicestatus-dial]" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["voicestatus.conf", "vs.toml"]


def test_cli_reports_config_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "vs.toml"
    cfg.write_text('[operators]\npattern = "1XX"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["dialplan", "--config", str(cfg)])
    assert result.exit_code == 1
    assert "'1XX'" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(main, ["dialplan", "--config", str(tmp_path / "none.toml")])
    assert missing.exit_code == 1
    assert "does not exist" in missing.output
