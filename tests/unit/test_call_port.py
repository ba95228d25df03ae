"""The seam between flows and Asterisk: the real client and the fake both satisfy ``CallPort``.

The assignments below are what mypy checks (structurally, no cast): if
``AriClient`` or the flow tests' fake stop matching the protocol the flows are
written against, ``make lint`` fails before any call does.
"""

from __future__ import annotations

import inspect

from unit.fake_ari import FakeAri
from voicestatus.ari.client import AriClient
from voicestatus.flows.call_port import CallPort


async def test_the_client_and_the_fake_are_call_ports() -> None:
    client = AriClient("http://pbx.example:8088", "vs", "secret")
    try:
        real: CallPort = client
        fake: CallPort = FakeAri()
        for port in (real, fake):
            for name in _operations():
                assert inspect.iscoroutinefunction(getattr(port, name)), name
    finally:
        await client.aclose()


def test_the_fake_offers_nothing_the_flows_cannot_reach() -> None:
    """Every public async operation of the fake is one of the protocol's (no private extras)."""
    fake_ops = {
        name
        for name, member in inspect.getmembers(FakeAri, inspect.iscoroutinefunction)
        if not name.startswith("_")
    }
    assert fake_ops == _operations()


def _operations() -> set[str]:
    return {name for name, member in vars(CallPort).items() if inspect.iscoroutinefunction(member)}
