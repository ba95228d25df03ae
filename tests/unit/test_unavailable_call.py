"""UnavailableFlow on a call, fast: the real session and services over a fake ARI.

What a caller hears and where the call goes next, for every branch of the
caller path: the operator's message, the spoken template when there is none
or Asterisk cannot fetch it, and the configured after-action or fallback.
The same paths are proven on the sandbox in tests/integration/test_unavailable*.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from unit.fake_ari import FakeAri
from voicestatus.ari.models import Channel
from voicestatus.config import CallerConfig, Config, ReasonConfig
from voicestatus.errors import AriRequestError
from voicestatus.flows.media_wait import RX_COUNT
from voicestatus.flows.session import CallSession
from voicestatus.flows.template import not_available
from voicestatus.flows.unavailable import UnavailableFlow
from voicestatus.metrics import Metrics
from voicestatus.services.audit import Actor
from voicestatus.services.messages import MessageService
from voicestatus.services.operators import OperatorService
from voicestatus.services.playable_cache import PlayableCache
from voicestatus.web.media import media_url

ADMIN = Actor("admin", "test")
SHA = "a" * 64
URL = f"sound:http://127.0.0.1:8080/media/{SHA}.wav"
TEMPLATE_101 = not_available("101")
GENERIC = not_available(None)


@dataclasses.dataclass
class Caller:
    """Places caller-path calls into one UnavailableFlow."""

    flow: UnavailableFlow
    metrics: Metrics

    async def call(
        self,
        *args: str,
        variables: dict[str, str] | None = None,
        prepare: Callable[[FakeAri], object] | None = None,
    ) -> FakeAri:
        """``Stasis(voicestatus,unavailable,<args>)`` from a phone whose media flows at once.

        ``prepare`` sets the fake up first (failures Asterisk will report).
        """
        fake = FakeAri(variables={RX_COUNT: "1", **(variables or {})})
        if prepare is not None:
            prepare(fake)
        channel = Channel(id="c1", name="PJSIP/200-00000001")
        session = fake.attach(CallSession(fake, channel, ["unavailable", *args]))
        await asyncio.wait_for(self.flow(session), 10)
        return fake


MakeCaller = Callable[[Config], Caller]


@pytest.fixture
def make_caller(ops: OperatorService, messages: MessageService, tmp_path: Path) -> MakeCaller:
    def make(config: Config) -> Caller:
        metrics = Metrics()
        cache = PlayableCache(messages, ttl=0)
        flow = UnavailableFlow(
            config,
            ops,
            metrics,
            playable=cache.playable,
            media_url=functools.partial(media_url, base=config.http.public_url),
            count_play=messages.count_play,
        )
        return Caller(flow, metrics)

    return make


@pytest.fixture
def caller(make_caller: MakeCaller) -> Caller:
    return make_caller(Config())


def with_caller(caller: CallerConfig) -> Config:
    return Config().replace(caller=caller)


@pytest.fixture
async def message_101(messages: MessageService) -> None:
    await messages.accept(
        "101", 1, sha256=SHA, duration=4.0, talk_duration=3.2, loudness_lufs=-20.1, actor=ADMIN
    )


def actions(fake: FakeAri) -> list[tuple[str, ...]]:
    """What was done to the channel, without the reads (media probe, operator lookup)."""
    return [call for call in fake.calls if call[0] != "get_variable"]


# -- a message is found ------------------------------------------------------------------


@pytest.mark.usefixtures("message_101")
async def test_a_message_is_answered_played_and_then_hung_up(caller: Caller) -> None:
    fake = await caller.call("101")
    assert actions(fake) == [("answer",), ("play", URL), ("hangup",)]
    assert fake.calls.index(("get_variable", RX_COUNT)) > fake.calls.index(("answer",)), "waits for media"
    plays = caller.metrics.registry.get_sample_value(
        "voicestatus_message_plays_total", {"reason": "noanswer"}
    )
    assert plays == 1


@pytest.mark.usefixtures("message_101")
async def test_after_the_message_the_call_can_go_back_to_the_dialplan(make_caller: MakeCaller) -> None:
    fake = await make_caller(with_caller(CallerConfig(after_action="continue"))).call("101", "busy")
    assert actions(fake) == [("answer",), ("play", URL), ("continue_in_dialplan", "")]
    assert not fake.hung_up


@pytest.mark.usefixtures("message_101")
async def test_a_message_asterisk_cannot_fetch_is_replaced_by_the_template(caller: Caller) -> None:
    fake = await caller.call("101", prepare=lambda f: f.failed_media.add(URL))
    assert actions(fake) == [("answer",), ("play", URL), ("play", *TEMPLATE_101), ("hangup",)]
    errors = caller.metrics.registry.get_sample_value("voicestatus_errors_total", {"kind": "media-fetch"})
    assert errors == 1


@pytest.mark.usefixtures("message_101")
async def test_a_refused_play_request_is_replaced_by_the_template(caller: Caller) -> None:
    refused = {f"play:{URL}": AriRequestError("bad media", http_status=400)}
    fake = await caller.call("101", prepare=lambda f: f.errors.update(refused))
    assert actions(fake) == [("answer",), ("play", URL), ("play", *TEMPLATE_101), ("hangup",)]


@pytest.mark.usefixtures("message_101")
async def test_a_reason_configured_not_to_play_messages_takes_its_fallback(make_caller: MakeCaller) -> None:
    busy = ReasonConfig(play_message=False, fallback="continue")
    fake = await make_caller(with_caller(CallerConfig(busy=busy))).call("101", "busy")
    assert actions(fake) == [("continue_in_dialplan", "")]


# -- no message: the fallback the configuration names -------------------------------------


async def test_no_message_plays_the_template_and_hangs_up(caller: Caller) -> None:
    fake = await caller.call("101")
    assert actions(fake) == [("answer",), ("play", *TEMPLATE_101), ("hangup",)]


async def test_no_message_can_hang_up_at_once(make_caller: MakeCaller) -> None:
    fake = await make_caller(with_caller(CallerConfig(fallback="hangup"))).call("101")
    assert actions(fake) == [("hangup",)]


async def test_no_message_can_continue_in_the_dialplan(make_caller: MakeCaller) -> None:
    fake = await make_caller(with_caller(CallerConfig(fallback="continue"))).call("101")
    assert actions(fake) == [("continue_in_dialplan", "")]


async def test_an_extension_that_is_no_operator_gets_the_template(caller: Caller) -> None:
    fake = await caller.call("205")
    assert actions(fake) == [("answer",), ("play", *not_available("205")), ("hangup",)]


# -- whose message: the argument, then EXTTOCALL, then CONNECTEDLINE ----------------------


@pytest.mark.usefixtures("message_101")
@pytest.mark.parametrize(
    ("args", "variables"),
    [
        (("101",), {"EXTTOCALL": "102", "CONNECTEDLINE(num)": "103"}),
        (("",), {"EXTTOCALL": "101", "CONNECTEDLINE(num)": "103"}),
        ((), {"CONNECTEDLINE(num)": "101"}),
    ],
    ids=["argument-first", "then-exttocall", "then-connectedline"],
)
async def test_the_operator_comes_from_the_first_source_that_is_set(
    caller: Caller, args: tuple[str, ...], variables: dict[str, str]
) -> None:
    fake = await caller.call(*args, variables=variables)
    assert ("play", URL) in fake.calls


async def test_the_argument_is_used_without_asking_asterisk(caller: Caller) -> None:
    fake = await caller.call("101", variables={"EXTTOCALL": "102"})
    assert ("get_variable", "EXTTOCALL") not in fake.calls


@pytest.mark.usefixtures("message_101")
async def test_an_unreadable_exttocall_falls_through_to_connectedline(caller: Caller) -> None:
    unreadable = {"get_variable:EXTTOCALL": AriRequestError("no such function", http_status=400)}
    fake = await caller.call(
        variables={"CONNECTEDLINE(num)": "101"}, prepare=lambda f: f.errors.update(unreadable)
    )
    assert ("play", URL) in fake.calls


async def test_no_source_at_all_is_nobody(caller: Caller) -> None:
    fake = await caller.call()
    assert actions(fake) == [("answer",), ("play", *GENERIC), ("hangup",)]


HOSTILE = ["$(id)", "../../101", "101,evil", "101;x", "101\n", "1" * 21, "١٠١", "１０１", " 101"]


@pytest.mark.usefixtures("message_101")
@pytest.mark.parametrize("hostile", HOSTILE)
async def test_a_hostile_argument_is_refused(caller: Caller, hostile: str) -> None:
    fake = await caller.call(hostile, variables={"EXTTOCALL": "101"})
    assert actions(fake) == [("answer",), ("play", *GENERIC), ("hangup",)]


@pytest.mark.usefixtures("message_101")
@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("source", ["EXTTOCALL", "CONNECTEDLINE(num)"])
async def test_a_hostile_channel_variable_is_refused(caller: Caller, source: str, hostile: str) -> None:
    fake = await caller.call(variables={source: hostile})
    assert actions(fake) == [("answer",), ("play", *GENERIC), ("hangup",)]
