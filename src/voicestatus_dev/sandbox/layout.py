"""The facts about one sandbox instance that its config files are written from.

Port allocation (``state``) and the config writers (``conf``
and its per-file modules) both depend on these, so they sit below both:
the extensions every instance provisions, the size of its RTP range, and the
``InstanceLayout`` value the writers take as their only input.
"""

from __future__ import annotations

from dataclasses import dataclass

LOOPBACK = "127.0.0.1"
PHONE_EXTENSIONS: tuple[str, ...] = tuple(str(n) for n in range(101, 110))
RTP_PORTS_PER_INSTANCE = 200


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
