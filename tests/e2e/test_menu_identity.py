"""Who is on the phone: real SIP softphones, a caller ID that lies, and the default ``identify``.

The softphones are PJSIP endpoints registered to the sandbox, so their
channels carry the endpoint that authenticated them (``PJSIP/102-...``).
The caller ID is what a trunk, a transfer or a phone without a fixed
caller ID can set to anything; here the dialplan sets it, exactly as such
a path would, on extensions the phones can dial.
"""

from __future__ import annotations

import pytest

from menu_support import ADMIN, seed_message
from softphone import Softphone
from support import wait_activity, wait_until
from voicestatus.app import Service
from voicestatus.flows import prompts
from voicestatus_dev.sandbox import Sandbox

pytestmark = pytest.mark.asterisk

# The menu reached with a caller ID of someone else's: *6991 claims 101, *6992 claims 102.
SPOOF_DIALPLAN = """
[sandbox-phones](+)
exten => *6991,1,Set(CALLERID(num)=101)
 same => n,Stasis(voicestatus,menu)
 same => n,Hangup()
exten => *6992,1,Set(CALLERID(num)=102)
 same => n,Stasis(voicestatus,menu)
 same => n,Hangup()
"""


@pytest.fixture(scope="module")
def spoofing(sandbox: Sandbox) -> None:
    sandbox.add_dialplan("menu-spoofed-callerid", SPOOF_DIALPLAN)


async def test_a_caller_id_of_101_from_phone_102_must_give_101s_pin(
    spoofing: None, service: Service, phones: dict[str, Softphone]
) -> None:
    await seed_message(service, "101", 500)  # 101 has no PIN: their own phone goes straight in
    # 102 has a PIN, so their phone is asked for extension and PIN (a PIN-less 102
    # would get 102's own menu: see the next test for a phone's own menu).
    await service.operators.set_pin("102", "8642", actor=ADMIN)
    await phones["102"].call("*6991")
    session = await wait_activity(service, "waiting-for-key")
    assert session.channel.name.startswith("PJSIP/102-")
    assert session.channel.caller.number == "101", "the lying caller ID reached the menu"
    assert session.played[:2] == prompts.ENTER_EXTENSION, "asked who they are, not let into 101's menu"
    await phones["102"].dtmf("101#")
    await wait_until(lambda: prompts.ENTER_PIN in session.played, 15, "the PIN prompt")
    await phones["102"].dtmf("2#")  # a guess; then "2" would have deleted 101's message
    await wait_until(lambda: prompts.LOGIN_INCORRECT in session.played, 15, "the refusal")
    await phones["102"].hangup()
    await wait_until(lambda: not service.router.sessions, 15, "the call to end")
    assert prompts.MESSAGE_ACTIVE not in session.played, "101's menu was never opened"
    assert await service.messages.playable("101") is not None
    assert (await service.audit.list(extension="101"))[1] == 1, "only the seeding is audited"


async def test_phone_101_gets_its_own_menu_whatever_its_caller_id_says(
    spoofing: None, service: Service, phones: dict[str, Softphone]
) -> None:
    await seed_message(service, "101", 500)
    await phones["101"].call("*6992")  # 101's phone, claiming to be 102 (no PIN, no message)
    session = await wait_activity(service, "waiting-for-key")
    assert session.channel.name.startswith("PJSIP/101-")
    assert session.played[0] == prompts.MESSAGE_ACTIVE, "101's own menu: their message is playing"
    await phones["101"].dtmf("2")  # delete: must hit 101's message, not 102's
    await wait_until(lambda: prompts.DELETED in session.played, 15, "the deletion")
    await phones["101"].dtmf("*")
    await wait_until(lambda: not service.router.sessions, 15, "the call to end")
    assert await service.messages.current("101", 1) is None
    deleted, _ = await service.audit.list(action="message.delete")
    assert [(e.extension, e.actor.startswith("phone:PJSIP/101-")) for e in deleted] == [("101", True)]
    assert (await service.audit.list(extension="102"))[1] == 0
