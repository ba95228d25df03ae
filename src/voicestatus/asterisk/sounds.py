"""The catalogue of Asterisk core sounds voicestatus plays, in one place.

The phone menu (``flows.prompts``), the caller's "extension 101 is not
available" (``flows.template``) and the generated dialplan's own fallbacks
(``asterisk.dialplan``) name their sounds from here, and ``doctor`` checks
exactly this list on the real server, so a sound added to a flow cannot be
missed by the check. Every name exists in both the English and the Russian
core sound packs.
"""

from __future__ import annotations

# "Extension <digits> is not available": app_voicemail's sentence for a mailbox
# without a greeting. The service and the dialplan (service down) say the same.
TEMPLATE_BEFORE = "vm-theperson"
TEMPLATE_AFTER = "vm-isunavail"
# The same without a usable extension: "nobody is available".
GENERIC_UNAVAILABLE = "vm-nobodyavail"
# The menu could not run (the service is down); Playback() takes them joined by "&".
MENU_FAILED: tuple[str, ...] = ("im-sorry", "cannot-complete-as-dialed", "please-try-again")
# The caller may not use the menu (not an operator).
NOT_ALLOWED = "feature-not-avail-line"

# Every sound the generated dialplan plays.
DIALPLAN_SOUNDS: tuple[str, ...] = (
    *MENU_FAILED,
    TEMPLATE_BEFORE,
    TEMPLATE_AFTER,
    GENERIC_UNAVAILABLE,
    NOT_ALLOWED,
)

# Every sound file the phone menu may play (``flows.prompts`` composes them).
MENU_SOUNDS: tuple[str, ...] = (
    "beep",
    "vm-goodbye",
    "pm-invalid-option",
    "vm-tempgreetactive",
    "vm-message",
    "de-activated",
    "activated",
    "vm-youhave",
    "vm-no",
    "vm-rec-temp",
    "vm-msgsaved",
    "vm-tooshort",
    "vm-tempremoved",
    "extension",
    "vm-then-pound",
    "agent-pass",
    "vm-incorrect",
    "vm-tempgreeting",
    "vm-tempgreeting2",
    "vm-press",
    "dictate/record",
    "removed",
    "to-listen-to-it",
    "vm-star-cancel",
    "cancelled",
    "vm-review",
    "vm-saved",
    "to-rerecord-it",
    "please-try-again",
    "im-sorry",
    NOT_ALLOWED,
    "disabled",
)

# Spoken digits: extensions in the template, keys in the menu.
DIGIT_SOUNDS: tuple[str, ...] = tuple(f"digits/{d}" for d in "0123456789")

# What ``doctor`` checks on the server, each name once.
ALL_SOUNDS: tuple[str, ...] = tuple(sorted({*MENU_SOUNDS, *DIALPLAN_SOUNDS, *DIGIT_SOUNDS}))
