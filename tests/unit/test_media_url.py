"""``media_url``: the one place a stored message's address is built, for browser, Asterisk and doctor."""

from __future__ import annotations

from voicestatus.web.media import _NAME, media_url

SHA = "ab" * 32


def test_a_path_for_the_browser_and_a_url_for_asterisk() -> None:
    assert media_url(SHA) == f"/media/{SHA}.wav"
    assert media_url(SHA, wideband=True) == f"/media/{SHA}.wav16"
    assert media_url(SHA, base="http://pbx:8080/") == f"http://pbx:8080/media/{SHA}.wav"
    assert media_url(SHA, base="http://pbx:8080/vs") == f"http://pbx:8080/vs/media/{SHA}.wav"


def test_the_media_route_serves_every_address_built() -> None:
    for wideband in (False, True):
        name = media_url(SHA, wideband=wideband).rsplit("/", 1)[1]
        match = _NAME.fullmatch(name)
        assert match is not None
        assert (match["sha"], match["fmt"]) == (SHA, "wav16" if wideband else "wav")
