""" "Extension <digits> is not available", composed from Asterisk core sounds.

The same sentence app_voicemail says when a mailbox has no greeting
(vm-theperson, the digits, vm-isunavail), so a caller hears something
familiar in their own language (both sounds exist in the en and ru packs;
the ``digits:`` media follows the channel's language too). The generated
dialplan's fallback uses the very same sounds (``asterisk.sounds``), so whether the service is up
or down a caller hears the same words.
"""

from __future__ import annotations

from voicestatus.asterisk.sounds import GENERIC_UNAVAILABLE, TEMPLATE_AFTER, TEMPLATE_BEFORE
from voicestatus.services.extensions import is_valid_extension


def not_available(extension: str | None) -> list[str]:
    """The sentence for ``extension``; without valid digits, "nobody is available"."""
    if extension is not None and is_valid_extension(extension):
        return [f"sound:{TEMPLATE_BEFORE}", f"digits:{extension}", f"sound:{TEMPLATE_AFTER}"]
    return [f"sound:{GENERIC_UNAVAILABLE}"]
