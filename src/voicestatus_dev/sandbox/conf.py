"""Asterisk configuration for one sandbox instance, written by code.

The sandbox runs several Asterisk processes from one shared chroot, so every
file points Asterisk at the instance's own directories and ports; nothing
reads the distribution's sample configs. The functions are pure (text in,
text out) so the unit tests can check them without root or a chroot.

``instance_files`` is the entry point and lists every file an instance gets.
The process-level files are rendered in ``conf_core``, the
loopback-only listeners in ``conf_net``; the dialplan skeleton and
voicemail boxes the tests dial into are here.
"""

from __future__ import annotations

from collections.abc import Mapping

from voicestatus_dev.sandbox.conf_core import (
    NOLOAD_MODULES,
    asterisk_conf,
    indications_conf,
    logger_conf,
    modules_conf,
)
from voicestatus_dev.sandbox.conf_net import ari_conf, http_conf, manager_conf, pjsip_conf, rtp_conf
from voicestatus_dev.sandbox.layout import (
    PHONE_EXTENSIONS,
    RTP_PORTS_PER_INSTANCE,
    InstanceLayout,
    SipAccount,
)

__all__ = [
    "NOLOAD_MODULES",
    "PHONE_EXTENSIONS",
    "RTP_PORTS_PER_INSTANCE",
    "InstanceLayout",
    "SipAccount",
    "instance_files",
]


def extensions_conf() -> str:
    return """[general]
static = yes
writeprotect = yes
clearglobalvars = no

[globals]

#include voicestatus.conf

[sandbox-phones]
include => voicestatus-menu
include => voicestatus-dial

; Rings forever without answering, for no-answer tests.
[sandbox-ring]
exten => _X.,1,Ringing()
 same => n,Wait(3600)
 same => n,Hangup()

#tryinclude extra/*.conf
"""


def voicemail_conf(lay: InstanceLayout) -> str:
    boxes = "\n".join(f"{a.extension} => {a.extension},Phone {a.extension}" for a in lay.accounts)
    return f"""[general]
format = wav
attach = no

[default]
{boxes}
"""


_QUIET_EMPTY = (
    "ccss.conf",
    "features.conf",
    "acl.conf",
    "udptl.conf",
    "geolocation.conf",
    "pjproject.conf",
    "websocket_client.conf",
    "chan_websocket.conf",
    "res_http_media_cache.conf",
    "sorcery.conf",
)


def instance_files(lay: InstanceLayout) -> Mapping[str, str]:
    """All config files of an instance, by file name under its ``etc/``."""
    return {
        "asterisk.conf": asterisk_conf(lay),
        "modules.conf": modules_conf(),
        "logger.conf": logger_conf(),
        "http.conf": http_conf(lay),
        "ari.conf": ari_conf(lay),
        "manager.conf": manager_conf(lay),
        "rtp.conf": rtp_conf(lay),
        "pjsip.conf": pjsip_conf(lay),
        "extensions.conf": extensions_conf(),
        "voicemail.conf": voicemail_conf(lay),
        "indications.conf": indications_conf(),
        "musiconhold.conf": "[general]\n",
        "cdr.conf": "[general]\nenable = no\n",
        "cel.conf": "[general]\nenable = no\n",
        # Present but empty so the modules that read them start quietly.
        **dict.fromkeys(_QUIET_EMPTY, ""),
    }
