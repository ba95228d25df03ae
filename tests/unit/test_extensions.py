"""Extension validation and the ``[operators] pattern`` language.

The property tests compare ``ExtensionPattern.matches`` with an independent
reading of the generated Asterisk patterns (written here from Asterisk's
documented rules), over every digit string up to four digits long.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicestatus.errors import ConfigError, InvalidInput
from voicestatus.services.extensions import (
    ExtensionPattern,
    InvalidExtension,
    is_valid_extension,
    validate_extension,
)

UNIVERSE = ["".join(d) for n in range(1, 5) for d in itertools.product("0123456789", repeat=n)]


def asterisk_regex(pattern: str) -> re.Pattern[str]:
    """Asterisk's rules: literal unless it starts with '_'; X Z N [..] . ! in patterns."""
    if not pattern.startswith("_"):
        return re.compile(re.escape(pattern))
    out = ""
    body = pattern[1:]
    i = 0
    while i < len(body):
        c = body[i].upper()
        if c == "[":
            end = body.index("]", i)
            out += "[" + body[i + 1 : end] + "]"
            i = end
        else:
            out += {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(c, c)
        i += 1
    return re.compile(out)


def agrees_with_dialplan(pattern: ExtensionPattern) -> None:
    regexes = [asterisk_regex(p) for p in pattern.dialplan_patterns()]
    for ext in UNIVERSE:
        expected = any(r.fullmatch(ext) for r in regexes)
        assert pattern.matches(ext) == expected, (str(pattern), pattern.dialplan_patterns(), ext)


@pytest.mark.parametrize("ext", ["0", "101", "7" * 20, "0042"])
def test_valid_extensions_are_returned_unchanged(ext: str) -> None:
    assert validate_extension(ext) == ext
    assert is_valid_extension(ext)


@pytest.mark.parametrize(
    "hostile",
    ["", "../../etc/passwd", "101;rm -rf /", "$(id)", "1" * 21, "9" * 200, "١٠١", "101\n",
     " 101", "10 1", "+101", "101a", "１０１"],
)  # fmt: skip
def test_hostile_or_malformed_extensions_are_refused(hostile: str) -> None:
    with pytest.raises(InvalidExtension) as caught:
        validate_extension(hostile)
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.error_id == "invalid-extension"
    assert caught.value.status_code == 400
    assert not is_valid_extension(hostile)


def test_refusal_message_shows_the_value_escaped_and_truncated() -> None:
    with pytest.raises(InvalidExtension) as caught:
        validate_extension("1\n2\x1b[31m" + "9" * 100)
    message = caught.value.message
    assert "\n" not in message
    assert "\x1b" not in message
    assert "'1\\n2\\x1b[31m" in message
    assert len(message) < 120


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidExtension):
        validate_extension(101)  # type: ignore[arg-type]


def test_range_becomes_exact_dialplan_patterns() -> None:
    pattern = ExtensionPattern.parse("101-199")
    assert pattern.dialplan_patterns() == ["_10Z", "_1ZX"]
    assert pattern.matches("101")
    assert pattern.matches("199")
    assert pattern.matches("150")
    assert not pattern.matches("100")
    assert not pattern.matches("200")


def test_mixed_items_and_normalised_text() -> None:
    pattern = ExtensionPattern.parse(" _1xx , 205,300-349, _2[0-4]X ")
    assert str(pattern) == "_1XX,205,300-349,_2[0-4]X"
    assert ExtensionPattern.parse(str(pattern)) == pattern
    assert pattern.dialplan_patterns() == ["_1XX", "205", "_3[0-4]X", "_2[0-4]X"]
    for ext in ("100", "199", "205", "300", "349", "200", "249"):
        assert pattern.matches(ext), ext
    for ext in ("256", "350", "2050", "1000", "99"):
        assert not pattern.matches(ext), ext


def test_default_pattern_is_the_seed_one() -> None:
    pattern = ExtensionPattern.parse("_1XX")
    assert pattern.matches("100")
    assert pattern.matches("199")
    assert not pattern.matches("1000")
    assert not pattern.matches("10")
    assert not pattern.matches("200")


def test_dot_and_bang_follow_asterisk() -> None:
    dot = ExtensionPattern.parse("_5Z.")
    assert not dot.matches("51")
    assert dot.matches("510")
    assert dot.matches("5100000")
    bang = ExtensionPattern.parse("_5Z!")
    assert bang.matches("51")
    assert bang.matches("510")
    assert not dot.matches("50")
    assert not bang.matches("50")


def test_ranges_across_lengths_and_with_leading_zeros() -> None:
    assert ExtensionPattern.parse("99-1000").dialplan_patterns() == ["99", "_ZXX", "1000"]
    padded = ExtensionPattern.parse("007-012")
    assert padded.matches("007")
    assert padded.matches("012")
    assert not padded.matches("7")
    assert not padded.matches("13")
    assert not padded.matches("013")
    numeric = ExtensionPattern.parse("7-12")
    assert numeric.matches("7")
    assert numeric.matches("12")
    assert not numeric.matches("07")


def test_invalid_input_never_matches() -> None:
    pattern = ExtensionPattern.parse("_X.")
    for hostile in ("", "1a", "١٠١", "1" * 21, "101;x"):
        assert not pattern.matches(hostile)


@pytest.mark.parametrize(
    ("text", "named"),
    [("", "''"), ("_1XX,,205", "empty"), ("_1Y", "'_1Y'"), ("1XX", "'1XX'"),
     ("_1[", "'_1['"), ("_1[5-2]", "bad range"), ("_1.X", "last"), ("199-101", "reversed"),
     ("01-100", "same length"), ("_", "matches no"), ("_1[a]", "only digits"),
     ("101;System(x)", "'101;System(x)'"), ("_" + "X" * 21, "longer")],
)  # fmt: skip
def test_bad_patterns_are_config_errors_naming_the_item(text: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ExtensionPattern.parse(text)
    assert named in caught.value.message


def test_examples_agree_with_their_dialplan_patterns() -> None:
    for text in ("101-199", "1-199", "0-10", "007-123", "_1[1-35-7]!", "_5Z.", "_NXX", "0-9999"):
        agrees_with_dialplan(ExtensionPattern.parse(text))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 9999), st.integers(0, 9999))
def test_numeric_ranges_agree_with_their_dialplan_patterns(a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    pattern = ExtensionPattern.parse(f"{low}-{high}")
    agrees_with_dialplan(pattern)
    assert sum(pattern.matches(ext) for ext in UNIVERSE) == high - low + 1


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4).flatmap(lambda w: st.tuples(st.just(w), st.integers(0, 10**w - 1),
                                                     st.integers(0, 10**w - 1))))  # fmt: skip
def test_zero_padded_ranges_agree_with_their_dialplan_patterns(case: tuple[int, int, int]) -> None:
    width, a, b = case
    low, high = min(a, b), max(a, b)
    pattern = ExtensionPattern.parse(f"{low:0{width}d}-{high:0{width}d}")
    agrees_with_dialplan(pattern)


_position = st.one_of(
    st.sampled_from(list("0123456789XZNxzn")),
    st.sets(st.sampled_from("0123456789"), min_size=1).map(lambda s: "[" + "".join(sorted(s)) + "]"),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_position, min_size=1, max_size=4), st.sampled_from(["", ".", "!"]))
def test_asterisk_patterns_agree_with_their_dialplan_patterns(positions: list[str], tail: str) -> None:
    pattern = ExtensionPattern.parse("_" + "".join(positions) + tail)
    agrees_with_dialplan(pattern)
    assert ExtensionPattern.parse(str(pattern)) == pattern
