"""The network-facing files of a sandbox instance: HTTP/ARI, AMI, RTP and PJSIP.

Every listener here binds 127.0.0.1 only: the sandbox has well-known
passwords in ``state.json`` and must never be reachable from the network.
``ari.conf``, ``manager.conf`` and ``pjsip.conf`` carry those passwords,
which is why the instance writer stores them mode 0600.
"""

from __future__ import annotations

from voicestatus_dev.sandbox.layout import LOOPBACK, InstanceLayout


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
