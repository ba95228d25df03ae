"""The files that make an Asterisk process an isolated sandbox instance.

``asterisk.conf`` points every directory at the instance's own tree inside
the shared chroot, ``modules.conf`` keeps out the modules a loopback test PBX
does not need, ``logger.conf`` writes the ``messages.log`` that start-up
failures are reported from, and ``indications.conf`` sets the tones callers
hear. None of them opens a port; the network-facing files are in
``conf_net``.
"""

from __future__ import annotations

from voicestatus_dev.sandbox.layout import InstanceLayout

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
