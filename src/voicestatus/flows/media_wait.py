"""Wait for the caller's first media after answering, so the first syllable is heard.

Asterisk's ``Playback()`` answers and then waits up to 500 ms for the first
frame from the caller before it plays; ARI's answer does not wait at all, and
audio sent before the caller's phone (or the NAT in front of it) has opened
its media path is simply lost. With ``rtp_symmetric`` Asterisk does not even
know where to send until the phone's first RTP packet arrives. So after an
ARI answer the flow waits up to ``[caller] media_wait_ms``. On PJSIP channels
it ends the wait as soon as Asterisk has received an RTP packet
(``CHANNEL(rtcp,rxcount)`` > 0, polled), like ``Playback()``; on channels
that cannot tell (Local, DAHDI, ...) it waits the whole time, which is what
``Playback()`` does when no frame comes. A hang-up during the wait ends the
flow at once.
"""

from __future__ import annotations

import asyncio

from voicestatus.errors import AriError
from voicestatus.flows.session import CallSession

POLL_SECONDS = 0.02
RX_COUNT = "CHANNEL(rtcp,rxcount)"


async def wait_for_caller_media(call: CallSession, seconds: float) -> None:
    """Return once the caller's media flows, or after ``seconds``."""
    if seconds <= 0:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    probe = call.channel.name.startswith("PJSIP/")
    while (remaining := deadline - loop.time()) > 0:
        if probe:
            try:
                count = await call.get_variable(RX_COUNT)
            except AriError:
                probe = False
            else:
                if count is not None and count.strip().isdigit() and int(count) > 0:
                    return
        # Waits on the channel's events, so a hang-up raises CallerHungUp here.
        await call.read_digit(min(remaining, POLL_SECONDS) if probe else remaining)
    call.activity = "answered"
