"""CallSession's ARI seam: which failures mean "the caller is gone" and which do not."""

from __future__ import annotations

import pytest

from unit.fake_ari import FakeAri
from voicestatus.ari.models import Channel
from voicestatus.errors import AriNotFound
from voicestatus.flows.session import CallerHungUp, CallSession


def session_on(fake: FakeAri) -> CallSession:
    return fake.attach(CallSession(fake, Channel(id="c1", name="PJSIP/200-00000001"), ["menu"]))


async def test_a_missing_channel_means_the_caller_hung_up() -> None:
    fake = FakeAri()
    fake.errors["answer"] = AriNotFound("Channel not found", http_status=404)
    session = session_on(fake)
    with pytest.raises(CallerHungUp):
        await session.answer()
    assert session.ended


async def test_a_missing_recording_is_not_a_hang_up() -> None:
    """The menu's clean-up tells "already gone" from "caller gone" by this."""
    fake = FakeAri()
    session = session_on(fake)
    with pytest.raises(AriNotFound):
        await session.fetch_recording("voicestatus-x")
    with pytest.raises(AriNotFound):
        await session.delete_recording("voicestatus-x")
    with pytest.raises(AriNotFound):
        await session.cancel_recording("voicestatus-x")
    assert not session.ended
    assert [call[0] for call in fake.calls] == [
        "get_stored_recording",
        "delete_stored_recording",
        "cancel_recording",
    ]


async def test_hanging_up_or_continuing_a_channel_already_gone_is_quiet() -> None:
    fake = FakeAri()
    fake.errors["hangup"] = AriNotFound("Channel not found", http_status=404)
    fake.errors["continue_in_dialplan"] = AriNotFound("Channel not found", http_status=404)
    session = session_on(fake)
    await session.hangup()
    await session.continue_in_dialplan("voicemail")
    assert fake.calls == [("hangup",), ("continue_in_dialplan", "voicemail")]
