"""The caller path's pure parts: reasons and the spoken template."""

from __future__ import annotations

import pytest

from voicestatus.flows.template import not_available
from voicestatus.flows.unavailable import parse_reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("noanswer", "noanswer"),
        ("busy", "busy"),
        ("unavail", "unavail"),
        ("", "noanswer"),
        ("BUSY", "noanswer"),
        ("evil", "noanswer"),
        ("busy\n", "noanswer"),
    ],
)
def test_reason(raw: str, reason: str) -> None:
    assert parse_reason(raw) == reason


def test_template_says_the_digits() -> None:
    assert not_available("101") == ["sound:vm-theperson", "digits:101", "sound:vm-isunavail"]


@pytest.mark.parametrize("hostile", [None, "", "$(id)", "../../x", "101,evil", "1" * 21, "１０１"])
def test_template_without_valid_digits_is_generic(hostile: str | None) -> None:
    assert not_available(hostile) == ["sound:vm-nobodyavail"]
