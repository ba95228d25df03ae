"""Asterisk configuration for one sandbox instance, written by code.

The sandbox runs several Asterisk processes from one shared chroot, so every
file here points Asterisk at the instance's own directories and ports; nothing
reads the distribution's sample configs. Every listener binds 127.0.0.1 only:
the sandbox has well-known passwords in ``state.json`` and must never be
reachable from the network. The functions are pure (text in, text out) so the
unit tests can check them without root or a chroot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"
PHONE_EXTENSIONS: tuple[str, ...] = tuple(str(n) for n in range(101, 110))
RTP_PORTS_PER_INSTANCE = 200

# Modules a loopback test PBX does not need: hardware and legacy channel
# drivers, database and accounting backends, and anything that opens a
# network port on all interfaces (IAX2, DUNDi, Unistim) or waits for a
# service that is not there. Keeping them out makes start-up take about a
# second and keeps the log readable.
NOLOAD_MODULES: tuple[str, ...] = (
    "chan_dahdi.so", "chan_iax2.so", "chan_mgcp.so", "chan_skinny.so", "chan_unistim.so",
    "chan_motif.so", "res_xmpp.so", "chan_ooh323.so", "chan_console.so", "chan_mobile.so",
    "chan_alsa.so", "chan_oss.so", "app_jack.so", "app_festival.so",
    "pbx_dundi.so", "pbx_lua.so", "pbx_ael.so", "res_ael_share.so", "pbx_realtime.so",
    "cdr_adaptive_odbc.so", "cdr_csv.so", "cdr_custom.so", "cdr_manager.so", "cdr_odbc.so",
    "cdr_pgsql.so", "cdr_radius.so", "cdr_sqlite3_custom.so", "cdr_tds.so", "cdr_beanstalkd.so",
    "cel_custom.so", "cel_manager.so", "cel_odbc.so", "cel_pgsql.so", "cel_radius.so",
    "cel_sqlite3_custom.so", "cel_tds.so", "cel_beanstalkd.so", "res_cdrel_custom.so",
    "res_config_curl.so", "res_config_ldap.so", "res_config_odbc.so", "res_config_pgsql.so",
    "res_config_sqlite3.so", "res_config_mysql.so", "res_odbc.so", "res_odbc_transaction.so",
    "func_odbc.so", "app_voicemail_odbc.so", "app_voicemail_imap.so", "res_snmp.so",
    "res_corosync.so", "res_calendar.so", "res_calendar_caldav.so", "res_calendar_ews.so",
    "res_calendar_exchange.so", "res_calendar_icalendar.so", "res_phoneprov.so",
    "res_pjsip_phoneprov_provider.so", "res_hep.so", "res_hep_pjsip.so", "res_hep_rtcp.so",
    "res_smdi.so", "res_stir_shaken.so", "res_pjsip_stir_shaken.so", "res_statsd.so",
    "res_prometheus.so", "res_stun_monitor.so", "res_resolver_unbound.so", "res_agi.so",
    "app_adsiprog.so", "app_getcpeid.so", "res_adsi.so", "app_sms.so", "app_alarmreceiver.so",
    "res_fax_spandsp.so", "res_speech_aeap.so", "res_aeap.so", "res_pjsip_config_wizard.so",
    "app_minivm.so", "app_agent_pool.so", "app_confbridge.so", "app_page.so", "app_amd.so",
    "app_followme.so", "app_queue.so", "res_pjsip_notify.so", "res_parking.so",
    "res_clialiases.so",
)  # fmt: skip


@dataclass(frozen=True)
class SipAccount:
    """A PJSIP endpoint a softphone or test can register as."""

    extension: str
    password: str


@dataclass(frozen=True)
class InstanceLayout:
    """Everything the writers need to know about one instance.

    ``base`` is the instance directory as seen from inside the chroot
    (``/srv/voicestatus/<name>``); ``module_dir`` is the chroot's Asterisk
    module directory, which depends on the architecture.
    """

    base: str
    module_dir: str
    http_port: int
    sip_port: int
    ami_port: int
    rtp_start: int
    ari_username: str
    ari_password: str
    ami_username: str
    ami_password: str
    accounts: tuple[SipAccount, ...]

    @property
    def rtp_end(self) -> int:
        return self.rtp_start + RTP_PORTS_PER_INSTANCE - 1


def asterisk_conf(lay: InstanceLayout) -> str:
    b = lay.base
    return f"""[directories]
astcachedir => {b}/cache
astetcdir => {b}/etc
astmoddir => {lay.module_dir}
astvarlibdir => {b}/lib
astdbdir => {b}/lib
astkeydir => {b}/lib
astdatadir => {b}/data
astagidir => /usr/share/asterisk/agi-bin
astspooldir => {b}/spool
astrundir => {b}/run
astlogdir => {b}/log
astsbindir => /usr/sbin

[options]
verbose = 3
debug = 0
defaultlanguage = en
documentation_language = en_US
hideconnect = yes
maxfiles = 4096
"""


def modules_conf() -> str:
    lines = ["[modules]", "autoload = yes"]
    lines += [f"noload => {module}" for module in NOLOAD_MODULES]
    return "\n".join(lines) + "\n"


def logger_conf() -> str:
    return """[general]
dateformat = %F %T.%3q
queue_log = no

[logfiles]
messages.log => notice,warning,error,verbose
"""


def http_conf(lay: InstanceLayout) -> str:
    return f"""[general]
enabled = yes
bindaddr = {LOOPBACK}
bindport = {lay.http_port}
servername = voicestatus-sandbox
"""


def ari_conf(lay: InstanceLayout) -> str:
    return f"""[general]
enabled = yes
pretty = no

[{lay.ari_username}]
type = user
read_only = no
password = {lay.ari_password}
password_format = plain
"""


def manager_conf(lay: InstanceLayout) -> str:
    return f"""[general]
enabled = yes
webenabled = no
bindaddr = {LOOPBACK}
port = {lay.ami_port}
displayconnects = no

[{lay.ami_username}]
secret = {lay.ami_password}
deny = 0.0.0.0/0.0.0.0
permit = {LOOPBACK}/255.255.255.255
read = all
write = all
"""


def rtp_conf(lay: InstanceLayout) -> str:
    return f"""[general]
rtpstart = {lay.rtp_start}
rtpend = {lay.rtp_end}
"""


def pjsip_conf(lay: InstanceLayout) -> str:
    parts = [
        f"""[global]
type = global
user_agent = voicestatus-sandbox

[transport-udp]
type = transport
protocol = udp
bind = {LOOPBACK}:{lay.sip_port}
"""
    ]
    for account in lay.accounts:
        ext = account.extension
        parts.append(
            f"""[{ext}]
type = endpoint
transport = transport-udp
context = sandbox-phones
disallow = all
allow = ulaw,alaw,g722
direct_media = no
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes
language = en
callerid = "Phone {ext}" <{ext}>
media_address = {LOOPBACK}
bind_rtp_to_media_address = yes
auth = {ext}-auth
aors = {ext}

[{ext}-auth]
type = auth
auth_type = userpass
username = {ext}
password = {account.password}

[{ext}]
type = aor
max_contacts = 1
remove_existing = yes
qualify_frequency = 0
"""
        )
    return "\n".join(parts)


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


def indications_conf() -> str:
    return """[general]
country = us

[us]
description = United States / North America
ringcadence = 2000,4000
dial = 350+440
busy = 480+620/500,0/500
ring = 440+480/2000,0/4000
congestion = 480+620/250,0/250
callwaiting = 440/300,0/10000
dialrecall = !350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440
record = 1400/500,0/15000
info = !950/330,!1400/330,!1800/330,0
stutter = !350+440/100,!0/100,!350+440/100,!0/100,350+440

[ru]
description = Russian Federation
ringcadence = 1000,4000
dial = 425
busy = 425/350,0/350
ring = 425/1000,0/4000
congestion = 425/175,0/175
callwaiting = 425/200,0/5000
record = 1400/400,0/15000
info = 950/330,1400/330,1800/330,0/1000
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
