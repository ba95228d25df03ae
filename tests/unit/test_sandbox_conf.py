"""The sandbox's Asterisk configs, port choices and chroot cache, checked without root."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from voicestatus.errors import SandboxError
from voicestatus_dev.sandbox import Sandbox
from voicestatus_dev.sandbox import build as sandbox_build
from voicestatus_dev.sandbox.conf import (
    NOLOAD_MODULES,
    PHONE_EXTENSIONS,
    InstanceLayout,
    SipAccount,
    instance_files,
)
from voicestatus_dev.sandbox.errors import (
    SandboxMirrorUnreachable,
    SandboxPortInUse,
    SandboxToolMissing,
)
from voicestatus_dev.sandbox.state import PortRequest, allocate

LAYOUT = InstanceLayout(
    base="/srv/voicestatus/t1",
    module_dir="/usr/lib/x86_64-linux-gnu/asterisk/modules",
    http_port=28088,
    sip_port=25060,
    ami_port=25038,
    rtp_start=30400,
    ari_username="voicestatus",
    ari_password="ari-secret",
    ami_username="voicestatus",
    ami_password="ami-secret",
    accounts=tuple(SipAccount(ext, f"pw{ext}") for ext in PHONE_EXTENSIONS),
)


def _sections(text: str) -> list[tuple[str, dict[str, str]]]:
    """Asterisk config sections in order (names may repeat, as in pjsip.conf)."""
    found: list[tuple[str, dict[str, str]]] = []
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            found.append((line[1:-1], {}))
        elif "=" in line and found:
            key, _, value = line.partition("=")
            found[-1][1][key.strip()] = value.lstrip(">").strip()
    return found


def _one(text: str, name: str) -> dict[str, str]:
    return next(values for section, values in _sections(text) if section == name)


@pytest.fixture
def files() -> dict[str, str]:
    return dict(instance_files(LAYOUT))


def test_every_listener_is_loopback_on_the_given_port(files: dict[str, str]) -> None:
    http = _one(files["http.conf"], "general")
    assert (http["enabled"], http["bindaddr"], http["bindport"]) == ("yes", "127.0.0.1", "28088")
    assert _one(files["manager.conf"], "general")["bindaddr"] == "127.0.0.1"
    assert _one(files["manager.conf"], "general")["port"] == "25038"
    assert _one(files["pjsip.conf"], "transport-udp")["bind"] == "127.0.0.1:25060"
    rtp = _one(files["rtp.conf"], "general")
    assert (rtp["rtpstart"], rtp["rtpend"]) == ("30400", "30599")


def test_directories_point_into_the_instance(files: dict[str, str]) -> None:
    dirs = _one(files["asterisk.conf"], "directories")
    for key in ("astetcdir", "astrundir", "astspooldir", "astlogdir", "astdbdir", "astdatadir"):
        assert dirs[key].startswith("/srv/voicestatus/t1/"), key
    assert dirs["astmoddir"] == LAYOUT.module_dir


def test_ari_and_ami_users_use_the_secrets(files: dict[str, str]) -> None:
    ari = _one(files["ari.conf"], "voicestatus")
    assert ari == {"type": "user", "read_only": "no", "password": "ari-secret", "password_format": "plain"}
    ami = _one(files["manager.conf"], "voicestatus")
    assert ami["secret"] == "ami-secret"
    assert ami["permit"].startswith("127.0.0.1/")
    assert (ami["read"], ami["write"]) == ("all", "all")


def test_phones_101_to_109_can_register_and_call(files: dict[str, str]) -> None:
    sections = _sections(files["pjsip.conf"])
    endpoints = {name: v for name, v in sections if v.get("type") == "endpoint"}
    assert sorted(endpoints) == [str(n) for n in range(101, 110)]
    for ext, endpoint in endpoints.items():
        assert endpoint["context"] == "sandbox-phones"
        assert endpoint["allow"] == "ulaw,alaw,g722"
        assert endpoint["direct_media"] == "no"
        assert endpoint["language"] == "en"
        auth = next(v for name, v in sections if name == endpoint["auth"])
        assert (auth["username"], auth["password"]) == (ext, f"pw{ext}")
        aor = next(v for name, v in sections if name == ext and v.get("type") == "aor")
        assert aor["max_contacts"] == "1"
        assert aor["remove_existing"] == "yes"


def test_dialplan_wires_the_product_contexts(files: dict[str, str]) -> None:
    text = files["extensions.conf"]
    assert "#include voicestatus.conf" in text
    assert "#tryinclude extra/*.conf" in text
    phones = text.split("[sandbox-phones]", 1)[1].split("[", 1)[0]
    assert "include => voicestatus-menu" in phones
    assert "include => voicestatus-dial" in phones
    ring = text.split("[sandbox-ring]", 1)[1]
    assert "Ringing()" in ring
    assert "Answer" not in ring


def test_needed_modules_are_not_excluded(files: dict[str, str]) -> None:
    assert "autoload = yes" in files["modules.conf"]
    for needed in ("res_ari", "res_stasis", "res_http_media_cache", "res_pjsip", "chan_pjsip",
                   "app_playback", "app_stasis", "func_callerid", "res_musiconhold", "app_dial"):  # fmt: skip
        assert not any(m.startswith(needed + ".") for m in NOLOAD_MODULES), needed
    assert "noload => chan_iax2.so" in files["modules.conf"]
    assert "noload => pbx_dundi.so" in files["modules.conf"]


@pytest.fixture
def busy_tcp_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_explicit_busy_port_is_a_clear_error(busy_tcp_port: int) -> None:
    with pytest.raises(SandboxPortInUse, match=rf"port {busy_tcp_port}.*--http-port"):
        allocate("t1", None, PortRequest(http=busy_tcp_port), [])


def test_busy_previous_port_moves_on_but_keeps_secrets(busy_tcp_port: int) -> None:
    first = allocate("t1", None, PortRequest(), [])
    moved = allocate("t1", dataclasses.replace(first, http_port=busy_tcp_port), PortRequest(), [])
    assert moved.http_port != busy_tcp_port
    assert moved.ari_password == first.ari_password
    assert moved.sip_passwords == first.sip_passwords
    assert sorted(moved.sip_passwords) == list(PHONE_EXTENSIONS)


def test_other_instances_get_other_ports() -> None:
    one = allocate("one", None, PortRequest(), [])
    two = allocate("two", None, PortRequest(), [one])
    assert {one.http_port, one.sip_port, one.ami_port}.isdisjoint({two.http_port, two.sip_port, two.ami_port})
    assert abs(one.rtp_start - two.rtp_start) >= 200
    assert 18088 not in (one.http_port, two.http_port)  # reserved for "default"


@pytest.mark.parametrize("name", ["", "../x", "a b", "ü", "x;rm"])
def test_instance_names_are_validated(name: str) -> None:
    with pytest.raises(SandboxError, match="invalid sandbox instance name"):
        Sandbox(name)


# -- building the chroot, with a stand-in for debootstrap ------------------

FAKE_DEBOOTSTRAP = """#!/bin/sh
echo run >> "$COUNT_FILE"
for target; do :; done
echo "I: Retrieving InRelease"
if [ -n "$FAIL" ]; then
  echo "E: Failed getting release file http://mirror.invalid/dists/sid/Release"; exit 1
fi
sleep 0.2
sounds="$target/usr/share/asterisk/sounds"
mkdir -p "$target/usr/sbin" "$target/usr/lib/x86_64-linux-gnu/asterisk/modules" \\
  "$sounds/en_US_f_Allison" "$sounds/ru_RU_f_IvrvoiceRU" "$target/etc/alternatives"
touch "$target/usr/sbin/asterisk" "$sounds/en_US_f_Allison/beep.wav" "$sounds/ru_RU_f_IvrvoiceRU/beep.wav"
ln -s /usr/share/asterisk/sounds/en_US_f_Allison "$target/etc/alternatives/asterisk-prompt-en"
ln -s /etc/alternatives/asterisk-prompt-en "$sounds/en"
echo "I: Base system installed successfully."
"""


def trust_cache_when_unprivileged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a non-root run build into its own tmp_path.

    The cache must be root's (``check_cache``; tests/unit/test_sandbox_safety.py
    proves that as root). Another account's tmp_path is its own, so the check
    rightly refuses it; these tests are about building, so they skip it there.
    """
    if os.geteuid() != 0:

        def own_cache(cache: Path, *, create: bool = True) -> Path:
            cache.mkdir(mode=0o755, parents=True, exist_ok=True)
            return cache

        monkeypatch.setattr(sandbox_build, "check_cache", own_cache)


@pytest.fixture
def fake_debootstrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "debootstrap"
    script.write_text(FAKE_DEBOOTSTRAP)
    script.chmod(0o755)
    count = tmp_path / "runs"
    monkeypatch.setenv("COUNT_FILE", str(count))
    monkeypatch.delenv("VOICESTATUS_DEBIAN_MIRROR", raising=False)
    monkeypatch.setattr(sandbox_build, "_debootstrap", lambda: str(script))
    monkeypatch.setattr(sandbox_build, "require_root", lambda: None)
    trust_cache_when_unprivileged(monkeypatch)
    return count


def test_chroot_is_built_once_and_checked(tmp_path: Path, fake_debootstrap: Path) -> None:
    cache = tmp_path / "cache"
    said: list[str] = []
    with ThreadPoolExecutor(2) as pool:
        roots = list(pool.map(lambda _: sandbox_build.ensure_chroot(cache, said.append), range(2)))
    assert roots[0] == roots[1] == cache / f"asterisk-{sandbox_build.cache_key()}" / "root"
    assert fake_debootstrap.read_text().count("run") == 1
    assert "Base system installed successfully." in said
    root = roots[0]
    assert os.readlink(root / "usr/share/asterisk/sounds/ru") == "ru_RU_f_IvrvoiceRU"
    assert (root / "var/spool/asterisk/recording").is_dir()
    assert sandbox_build.module_dir(root) == "/usr/lib/x86_64-linux-gnu/asterisk/modules"

    (root / "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU/beep.wav").unlink()  # broken: rebuild
    sandbox_build.ensure_chroot(cache, said.append)
    assert fake_debootstrap.read_text().count("run") == 2


def test_unreachable_mirror_is_named(
    tmp_path: Path, fake_debootstrap: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIL", "1")
    monkeypatch.setenv("VOICESTATUS_DEBIAN_MIRROR", "http://mirror.invalid/debian")
    with pytest.raises(SandboxMirrorUnreachable, match=r"mirror\.invalid(.|\n)*Failed getting release"):
        sandbox_build.ensure_chroot(tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*/root*"))


def test_missing_debootstrap_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sandbox_build, "require_root", lambda: None)
    trust_cache_when_unprivileged(monkeypatch)
    monkeypatch.setattr(shutil, "which", lambda *_a, **_k: None)
    with pytest.raises(SandboxToolMissing, match="apt-get install debootstrap"):
        sandbox_build.ensure_chroot(tmp_path / "cache")
