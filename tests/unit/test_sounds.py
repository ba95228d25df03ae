"""The sound catalogue lists every core sound the menu and the caller path play."""

from __future__ import annotations

from voicestatus.asterisk import sounds
from voicestatus.config import PhoneKeys
from voicestatus.flows import prompts, template

OTHER_KEYS = PhoneKeys(record="7", delete="8", listen="9", toggle="5", repeat="6", leave="#",
                       accept="4", review_listen="5", rerecord="6")  # fmt: skip


def _names(media: list[str]) -> set[str]:
    return {m.removeprefix("sound:") for m in media if m.startswith("sound:")}


def test_every_menu_prompt_is_in_the_catalogue() -> None:
    played: list[str] = []
    for value in vars(prompts).values():
        if isinstance(value, str) and value.startswith("sound:"):
            played.append(value)
        elif isinstance(value, list):
            played += [v for v in value if isinstance(v, str)]
    for keys in (PhoneKeys(), OTHER_KEYS):
        for has_message in (False, True):
            for active in (False, True):
                played += prompts.main_menu(keys, has_message=has_message, active=active)
                played += prompts.state_announcement(has_message=has_message, active=active)
        played += prompts.review_menu(keys)
    catalogue = set(sounds.ALL_SOUNDS) | {"digits/star", "digits/pound"}
    assert _names(played) - catalogue == set()


def test_the_caller_template_is_in_the_catalogue() -> None:
    played = template.not_available("101") + template.not_available(None)
    assert _names(played) <= set(sounds.ALL_SOUNDS)
