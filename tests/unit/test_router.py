"""StasisRouter, fast: whatever goes wrong, the call is handed back or hung up, never left silent.

The router's promise (see ``router.py``) is that a bug, an unknown flow name
or a lost database never leaves a caller in silence: the call goes back to
the dialplan with ``VOICESTATUS_FAILED=1`` (where the generated fallback plays
something), or is hung up when even that is refused. These tests drive the
router with ARI events and a fake Asterisk (``fake_ari.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from unit.fake_ari import FakeAri
from voicestatus.ari.models import Channel, ChannelDtmfReceived, StasisStart
from voicestatus.errors import AriError, AriNotFound, AriRequestError, AriUnreachable
from voicestatus.flows.router import Flow, StasisRouter
from voicestatus.flows.session import CallSession

HAND_BACK = [("set_variable", "VOICESTATUS_FAILED", "1"), ("continue_in_dialplan", "")]


@dataclasses.dataclass
class Routed:
    """One call through a router: what Asterisk was asked, and how the router counted it."""

    fake: FakeAri
    router: StasisRouter
    outcomes: list[tuple[str, str]]


async def route(flows: dict[str, Flow], args: list[str], errors: dict[str, AriError] | None = None) -> Routed:
    """``Stasis(voicestatus,<args>)``: start the call, let its flow run to the end."""
    channel = Channel(id="c1", name="PJSIP/200-00000001")
    fake = FakeAri(channel)
    fake.errors.update(errors or {})
    outcomes: list[tuple[str, str]] = []
    router = StasisRouter(fake, flows, on_flow_done=lambda flow, outcome: outcomes.append((flow, outcome)))
    fake.deliver = router.handle
    router.handle(StasisStart(type="StasisStart", args=args, channel=channel))
    # The flow task must end by itself: anything escaping it would surface here.
    tasks = set(router._tasks)
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    return Routed(fake, router, outcomes)


async def broken(call: CallSession) -> None:
    raise RuntimeError("a bug in a flow")


@pytest.mark.parametrize("args", [["no-such-flow"], [""], []], ids=["unknown", "empty", "none"])
async def test_an_unknown_flow_hands_the_call_back_to_the_dialplan(args: list[str]) -> None:
    routed = await route({"menu": broken}, args)
    assert routed.fake.calls == HAND_BACK
    assert routed.outcomes == [(args[0] if args else "", "unknown-flow")]
    assert routed.router.sessions == {}, "the session ends with the call"


async def test_a_flow_that_raises_hands_the_call_back_to_the_dialplan() -> None:
    routed = await route({"menu": broken}, ["menu"])
    assert routed.fake.calls == HAND_BACK
    assert routed.outcomes == [("menu", "error")]
    assert routed.router.sessions == {}


@pytest.mark.parametrize(
    "errors",
    [
        {"set_variable": AriUnreachable("Asterisk ARI timed out")},
        {"continue_in_dialplan": AriRequestError("Channel not in Stasis application", http_status=409)},
        {"set_variable": AriNotFound("Channel not found", http_status=404)},
    ],
    ids=["set-variable-fails", "continue-refused", "channel-gone"],
)
async def test_when_the_dialplan_cannot_take_the_call_back_it_is_hung_up(errors: dict[str, AriError]) -> None:
    routed = await route({"menu": broken}, ["menu"], errors)
    assert routed.fake.calls[-1] == ("hangup",)
    assert routed.fake.hung_up
    assert routed.outcomes == [("menu", "error")]


async def test_a_failing_hang_up_after_all_else_failed_does_not_escape() -> None:
    errors: dict[str, AriError] = {
        "set_variable": AriUnreachable("Asterisk ARI timed out"),
        "hangup": AriUnreachable("Asterisk ARI timed out"),
    }
    routed = await route({"menu": broken}, ["menu"], errors)
    assert [call[0] for call in routed.fake.calls] == ["set_variable", "hangup"]
    assert routed.outcomes == [("menu", "error")]


async def test_a_caller_who_hung_up_is_not_handed_back() -> None:
    async def hangs_up_then_fails(call: CallSession) -> None:
        await call.hangup()
        raise RuntimeError("a bug after the hang-up")

    routed = await route({"menu": hangs_up_then_fails}, ["menu"])
    assert routed.fake.calls == [("hangup",)]
    assert routed.outcomes == [("menu", "error")]
    assert routed.router.sessions == {}


async def test_a_hang_up_while_waiting_ends_the_flow_quietly() -> None:
    async def waits(call: CallSession) -> None:
        await call.read_digit(30)

    channel = Channel(id="c1", name="PJSIP/200-00000001")
    fake = FakeAri(channel)
    outcomes: list[tuple[str, str]] = []
    router = StasisRouter(fake, {"menu": waits}, on_flow_done=lambda f, o: outcomes.append((f, o)))
    fake.deliver = router.handle
    router.handle(StasisStart(type="StasisStart", args=["menu"], channel=channel))
    session = router.sessions["c1"]
    await fake.hangup("c1")  # the caller hangs up: Asterisk sends StasisEnd
    await router.drain(10)
    assert outcomes == [("menu", "hangup")]
    assert fake.calls == [("hangup",)], "no hand-back for a caller who is gone"
    assert session.ended
    assert router.sessions == {}


async def test_events_reach_the_session_of_their_channel() -> None:
    heard: list[str | None] = []

    async def listens(call: CallSession) -> None:
        await call.play("sound:hello")  # PlaybackFinished is routed by the playback's target
        heard.append(await call.read_digit(10))
        await call.hangup()

    channel = Channel(id="c1", name="PJSIP/200-00000001")
    fake = FakeAri(channel)
    router = StasisRouter(fake, {"menu": listens})
    fake.deliver = router.handle
    router.handle(StasisStart(type="StasisStart", args=["menu"], channel=channel))
    other = Channel(id="c2", name="PJSIP/201-00000001")
    router.handle(ChannelDtmfReceived(type="ChannelDtmfReceived", digit="9", channel=other))
    router.handle(ChannelDtmfReceived(type="ChannelDtmfReceived", digit="5", channel=channel))
    await router.drain(10)
    assert heard == ["5"]
    assert fake.calls == [("play", "sound:hello"), ("hangup",)]
