"""The dialplan include file that ``voicestatus dialplan`` prints.

Callers reach the product only through this dialplan, so it is written to be
safe with hostile input: caller IDs, ``${EXTTOCALL}`` and ``CONNECTEDLINE``
never reach an expression, an application argument list, a path or a shell.
They are copied with ``Set()`` (which takes the rest of its argument verbatim),
reduced with ``FILTER()`` to digits and used only if that changed nothing;
``$[...]`` conditions compare ``LEN()`` numbers or filtered values only.
Config values that end up in the file (app name, feature code, dial template)
are checked against strict patterns, and a bad one is a ConfigError rather than
a line Asterisk would interpret in some unexpected way.

When the service is down ``Stasis()`` returns with ``STASISSTATUS=FAILED`` and
the dialplan falls back on its own: the co-located mirror of the operator's
message (AstDB ``voicestatus/<ext>``) or a spoken template, so a caller is never
left in silence.

Channel variables the service may set before handing a call back
(ARI ``continue``): ``VOICESTATUS_FAILED=1`` sends the caller to the same
fallback as a failed ``Stasis()``; ``VOICESTATUS_CONTINUE=context,exten,priority``
is where the call goes next (otherwise it is hung up). The priority labels
``continue``, ``failed``, ``template`` and ``generic`` are stable targets for a
labelled ``continue``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from voicestatus.asterisk import sounds
from voicestatus.asterisk.dialplan_text import (
    DIAL_CONTEXT,
    MENU_CONTEXT,
    UNAVAILABLE_CONTEXT,
    header,
)
from voicestatus.config import REASONS, AriConfig, AsteriskConfig, Config, PhoneConfig
from voicestatus.errors import ConfigError
from voicestatus.services.extensions import ExtensionPattern

Target = Literal["asterisk", "freepbx"]
TARGETS: tuple[Target, ...] = ("asterisk", "freepbx")

MENU_FAILED_PROMPT = "&".join(sounds.MENU_FAILED)

_APP_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}", re.ASCII)
_FEATURE_CODE_RE = re.compile(r"[0-9*#]{1,20}", re.ASCII)
_DIAL_PART_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}/(?:[A-Za-z0-9_.@:+-]|\$\{EXTEN\})+", re.ASCII)
# Stasis could not run (service down), or the app gave the call back after an error.
_FAILED = '"${STASISSTATUS}" = "FAILED" | "${VOICESTATUS_FAILED}" = "1"'


@dataclass(frozen=True)
class DialplanOptions:
    """Settings only the generated dialplan needs, validated for safe emission."""

    # The defaults are the configuration's own, so the two cannot drift apart.
    app: str = AriConfig.app
    feature_code: str = PhoneConfig.feature_code
    dial_template: str = AsteriskConfig.dial_template
    ring_seconds: int = AsteriskConfig.ring_seconds

    @classmethod
    def from_config(cls, config: Config) -> DialplanOptions:
        options = cls(
            app=config.ari.app,
            feature_code=config.phone.feature_code,
            dial_template=config.asterisk.dial_template,
            ring_seconds=config.asterisk.ring_seconds,
        )
        options.check()
        return options

    def check(self) -> None:
        """Raise ConfigError for any value that is not safe to write into dialplan."""
        if not _APP_RE.fullmatch(self.app):
            raise ConfigError(f"[ari] app must be ASCII letters, digits, _ or - (max 64), not {self.app!r}")
        if not _FEATURE_CODE_RE.fullmatch(self.feature_code):
            raise ConfigError(f"[phone] feature_code must be 1 to 20 of 0-9 * #, not {self.feature_code!r}")
        template = self.dial_template
        parts_ok = all(_DIAL_PART_RE.fullmatch(p) for p in template.split("&"))
        if not parts_ok or "${EXTEN}" not in template:
            raise ConfigError(
                "[asterisk] dial_template must be Tech/resource[&Tech/resource...] using "
                f"${{EXTEN}} and only letters, digits and _ . @ : + -, not {self.dial_template!r}"
            )
        ring = self.ring_seconds
        if isinstance(ring, bool) or not isinstance(ring, int) or not 1 <= ring <= 600:
            raise ConfigError(f"[asterisk] ring_seconds must be 1 to 600, not {ring!r}")


def render_dialplan(config: Config, target: Target, *, source: str | None = None, block: bool = False) -> str:
    """The include file for ``target``; ``source`` names the config in the header.

    ``block``: for the block ``voicestatus freepbx dialplan`` writes, whose
    header then describes that block (it wires the feature code itself)
    instead of telling the admin to paste the file and add the include.
    """
    if target not in TARGETS:
        raise ConfigError(f"dialplan target must be one of {', '.join(TARGETS)}, not {target!r}")
    options = DialplanOptions.from_config(config)
    operators = ExtensionPattern.parse(config.operators.pattern)
    callers = operators.dialplan_patterns()
    lines = header(target, source, options.feature_code, str(operators), block=block)
    lines += _menu(options, callers)
    lines += _unavailable(options)
    if target == "asterisk":
        lines += _dial(options, callers)
    return "\n".join(lines) + "\n"


def _menu(options: DialplanOptions, callers: list[str]) -> list[str]:
    code = options.feature_code
    lines = ["", f"[{MENU_CONTEXT}]", "; The feature code, one block per allowed caller ID pattern."]
    for pattern in callers:
        lines += [
            f"exten => {code}/{pattern},1,NoOp(voicestatus menu)",
            f" same => n,Stasis({options.app},menu)",
            f" same => n,GotoIf($[{_FAILED}]?failed)",
            " same => n,Hangup()",
            " same => n(failed),Answer()",
            f" same => n,Playback({MENU_FAILED_PROMPT})",
            " same => n,Hangup()",
        ]
    lines += [
        "; Anyone else dialling the feature code.",
        f"exten => {code},1,Answer()",
        f" same => n,Playback({sounds.NOT_ALLOWED})",
        " same => n,Hangup()",
    ]
    return lines


def _digits(target: str, raw: str) -> list[str]:
    """Set ``target`` to ``raw``'s value if it is 1..20 digits, else to empty."""
    return [
        f" same => n,Set({target}=${{FILTER(0123456789,${{{raw}}})}})",
        f" same => n,GotoIf($[${{LEN(${{{target}}})}} = ${{LEN(${{{raw}}})}}"
        f" & ${{LEN(${{{target}}})}} <= 20]?digits_ok)",
        f" same => n,Set({target}=)",
        f" same => n(digits_ok),NoOp(operator ${{{target}}})",
    ]


def _unavailable_body(options: DialplanOptions, stasis_ext: str) -> list[str]:
    """Everything after VS_EXT (validated operator digits or empty) is known."""
    reasons = " | ".join(f'"${{VS_REASON}}" = "{r}"' for r in REASONS)
    return [
        " same => n,Set(VS_REASON=${FILTER(abcdefghijklmnopqrstuvwxyz,${VOICESTATUS_REASON})})",
        f" same => n,GotoIf($[{reasons}]?reason)",
        " same => n,Set(VS_DIALSTATUS=${FILTER(ABCDEFGHIJKLMNOPQRSTUVWXYZ,${DIALSTATUS})})",
        " same => n,Set(VS_REASON=noanswer)",
        ' same => n,ExecIf($["${VS_DIALSTATUS}" = "BUSY"]?Set(VS_REASON=busy))',
        ' same => n,ExecIf($["${VS_DIALSTATUS}" = "CHANUNAVAIL"'
        ' | "${VS_DIALSTATUS}" = "CONGESTION"]?Set(VS_REASON=unavail))',
        f" same => n(reason),Stasis({options.app},unavailable,{stasis_ext},${{VS_REASON}})",
        f" same => n,GotoIf($[{_FAILED}]?failed)",
        " same => n(continue),GotoIf($[${LEN(${VOICESTATUS_CONTINUE})} = 0]?hangup)",
        " same => n,Goto(${VOICESTATUS_CONTINUE})",
        " same => n(hangup),Hangup()",
        " same => n(failed),Answer()",
        " same => n,GotoIf($[${LEN(${VS_EXT})} = 0]?generic)",
        " same => n,Set(VS_MIRROR=${DB(voicestatus/${VS_EXT})})",
        " same => n,Set(VS_SAFE=${FILTER(-0-9A-Za-z/_,${VS_MIRROR})})",
        " same => n,GotoIf($[${LEN(${VS_MIRROR})} = 0"
        " | ${LEN(${VS_SAFE})} != ${LEN(${VS_MIRROR})}]?template)",
        " same => n,Playback(${VS_SAFE})",
        ' same => n,GotoIf($["${PLAYBACKSTATUS}" = "SUCCESS"]?done)',
        f" same => n(template),Playback({sounds.TEMPLATE_BEFORE})",
        " same => n,SayDigits(${VS_EXT})",
        f" same => n,Playback({sounds.TEMPLATE_AFTER})",
        " same => n,Goto(done)",
        f" same => n(generic),Playback({sounds.GENERIC_UNAVAILABLE})",
        " same => n(done),Hangup()",
    ]


def _unavailable(options: DialplanOptions) -> list[str]:
    return [
        "",
        f"[{UNAVAILABLE_CONTEXT}]",
        "; FreePBX Custom Destination: the operator comes from EXTTOCALL, else CONNECTEDLINE.",
        "exten => s,1,NoOp(voicestatus caller path)",
        " same => n,Set(VS_RAW=${EXTTOCALL})",
        " same => n,GotoIf($[${LEN(${VS_RAW})} > 0]?have_raw)",
        " same => n,Set(VS_RAW=${CONNECTEDLINE(num,i)})",
        " same => n(have_raw),NoOp()",
        *_digits("VS_EXT", "VS_RAW"),
        *_unavailable_body(options, ""),
        "; The operator's extension in ${EXTEN}.",
        "exten => _X.,1,NoOp(voicestatus caller path)",
        " same => n,Set(VS_RAW=${EXTEN})",
        *_digits("VS_EXT", "VS_RAW"),
        *_unavailable_body(options, "${VS_EXT}"),
    ]


def _dial(options: DialplanOptions, callers: list[str]) -> list[str]:
    lines = [
        "",
        f"[{DIAL_CONTEXT}]",
        "; Ring an operator (digits only); on no answer, busy or unreachable go to the",
        "; caller path.",
    ]
    for pattern in callers:
        lines += [
            f"exten => {pattern},1,Set(VS_RAW=${{EXTEN}})",
            *_digits("VS_EXT", "VS_RAW"),
            " same => n,GotoIf($[${LEN(${VS_EXT})} = 0]?refuse)",
            f" same => n,Dial({options.dial_template},{options.ring_seconds})",
            " same => n,Set(VOICESTATUS_REASON=)",
            ' same => n,ExecIf($["${DIALSTATUS}" = "NOANSWER"]?Set(VOICESTATUS_REASON=noanswer))',
            ' same => n,ExecIf($["${DIALSTATUS}" = "BUSY"]?Set(VOICESTATUS_REASON=busy))',
            ' same => n,ExecIf($["${DIALSTATUS}" = "CHANUNAVAIL"'
            ' | "${DIALSTATUS}" = "CONGESTION"]?Set(VOICESTATUS_REASON=unavail))',
            " same => n,GotoIf($[${LEN(${VOICESTATUS_REASON})} > 0]"
            f"?{UNAVAILABLE_CONTEXT},${{VS_EXT}},1)",
            " same => n(refuse),Hangup()",
        ]
    return lines
