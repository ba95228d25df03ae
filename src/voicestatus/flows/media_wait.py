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

Polling costs one ARI request each; at a fixed 20 ms that was up to 25
requests per call while no RTP came, a request storm under load. A phone's
first RTP normally arrives within a few tens of milliseconds of the answer,
so the probe looks often at first and then less and less (after 20, 40,
80 ms, then every 120 ms): a few requests per call at most, while the first
syllable is still never played before the caller's media flows.
"""

from __future__ import annotations

import asyncio

from voicestatus.errors import AriError
from voicestatus.flows.session import CallSession

FIRST_POLL_SECONDS = 0.02
MAX_POLL_SECONDS = 0.12
RX_COUNT = "CHANNEL(rtcp,rxcount)"


async def wait_for_caller_media(call: CallSession, seconds: float) -> None:
    """Return once the caller's media flows, or after ``seconds``."""
    if seconds <= 0:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    probe = call.channel.name.startswith("PJSIP/")
    interval = FIRST_POLL_SECONDS
    while (remaining := deadline - loop.time()) > 0:
        # Nothing can have arrived at the moment of the answer, so wait first.
        # Waits on the channel's events, so a hang-up raises CallerHungUp here.
        await call.read_digit(min(remaining, interval) if probe else remaining)
        interval = min(interval * 2, MAX_POLL_SECONDS)
        if probe:
            try:
                count = await call.get_variable(RX_COUNT)
            except AriError:
                probe = False
            else:
                if count is not None and count.strip().isdigit() and int(count) > 0:
                    return
    call.activity = "answered"
