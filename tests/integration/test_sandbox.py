"""The sandbox against the real thing: chroot, Asterisk 22, ARI, ports, /proc.

Uses the real cache directory so a machine (or CI cache) builds the chroot
once. Instance names carry the test's PID so parallel runs do not collide.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import wait_until_blocking
from voicestatus_dev.sandbox import Sandbox, SandboxInfo
from voicestatus_dev.sandbox.build import mounts_under
from voicestatus_dev.sandbox.errors import SandboxPortInUse
from voicestatus_dev.sandbox.proc import chroot_pids
from voicestatus_dev.sandbox.state import load_state, port_is_free, save_state

pytestmark = pytest.mark.asterisk

DIALPLAN = "[voicestatus-menu]\n\n[voicestatus-dial]\n"
PREFIX = f"t-{os.getpid()}"


def ari_get(info: SandboxInfo, path: str) -> httpx.Response:
    return httpx.get(f"{info.ari_url}/ari{path}", auth=(info.ari_username, info.ari_password), timeout=5)


def proc_mounted(root: Path) -> bool:
    return bool(mounts_under(root / "proc"))


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Sandbox, Sandbox]]:
    a, b = Sandbox(f"{PREFIX}-a"), Sandbox(f"{PREFIX}-b")
    try:
        a.up(DIALPLAN)
        b.up(DIALPLAN)
        yield a, b
    finally:
        a.down(purge=True)
        b.down(purge=True)


def test_two_instances_run_side_by_side(pair: tuple[Sandbox, Sandbox]) -> None:
    a, b = (box.status() for box in pair)
    assert a.running
    assert b.running
    assert a.pid != b.pid
    ports_a = {a.ari_url, a.sip_port, a.ami_port}
    assert ports_a.isdisjoint({b.ari_url, b.sip_port, b.ami_port})
    for info in (a, b):
        response = ari_get(info, "/asterisk/info")
        assert response.status_code == 200
        assert response.json()["system"]["version"].startswith("22.")
    assert ari_get(a, "/asterisk/info").json()["system"]["entity_id"]
    wrong = httpx.get(f"{a.ari_url}/ari/asterisk/info", auth=("voicestatus", b.ari_password), timeout=5)
    assert wrong.status_code == 401


def test_status_json_has_what_clients_need(pair: tuple[Sandbox, Sandbox]) -> None:
    data = pair[0].status().to_json()
    assert str(data["ari_url"]).startswith("http://127.0.0.1:")
    assert data["ari_username"] == "voicestatus"
    assert data["ari_password"]
    assert data["sip_host"] == "127.0.0.1"
    assert isinstance(data["sip_port"], int)
    accounts = data["accounts"]
    assert isinstance(accounts, list)
    assert [acc["extension"] for acc in accounts] == [str(n) for n in range(101, 110)]
    assert all(acc["password"] for acc in accounts)
    sounds = Path(str(data["sounds_dir"]))
    assert (sounds / "voicestatus").is_dir()
    assert Path(str(data["log_file"])).is_file()


def test_cli_talks_to_the_right_asterisk(pair: tuple[Sandbox, Sandbox]) -> None:
    a, b = pair
    assert "Asterisk 22" in a.cli("core show version")
    assert f"127.0.0.1:{a.status().sip_port}" in a.cli("pjsip show transports")
    assert f"127.0.0.1:{b.status().sip_port}" in b.cli("pjsip show transports")
    endpoints = a.cli("pjsip show endpoints")
    assert all(f"Endpoint:  {n}" in endpoints for n in range(101, 110))


def test_dialplan_can_be_replaced_and_extended(pair: tuple[Sandbox, Sandbox]) -> None:
    a, b = pair
    a.set_dialplan("[voicestatus-menu]\nexten => *600,1,NoOp(menu)\n\n[voicestatus-dial]\n")
    assert "NoOp(menu)" in a.cli("dialplan show voicestatus-menu")
    a.add_dialplan("probe", "[probe-ctx]\nexten => 1,1,NoOp(probe)\n")
    assert "NoOp(probe)" in a.cli("dialplan show probe-ctx")
    assert "NoOp(probe)" not in b.cli("dialplan show probe-ctx")
    assert "Ringing()" in a.cli("dialplan show sandbox-ring")


def test_both_languages_of_prompts_are_there(pair: tuple[Sandbox, Sandbox]) -> None:
    info = pair[0].status()
    root = info.root / "usr/share/asterisk/sounds"
    assert (root / "ru").resolve().name == "ru_RU_f_IvrvoiceRU"
    assert (root / "ru_RU_f_IvrvoiceRU/vm-intro.wav").is_file()
    assert (root / "en_US_f_Allison/vm-intro.wav").is_file()
    assert (info.sounds_dir / "ru").is_symlink()


def test_restart_keeps_ports_and_passwords(pair: tuple[Sandbox, Sandbox]) -> None:
    a = pair[0]
    before = a.status()
    a.restart()
    after = a.status()
    assert after.running
    assert after.pid != before.pid
    assert (after.ari_url, after.ari_password, after.accounts) == (
        before.ari_url,
        before.ari_password,
        before.accounts,
    )
    assert ari_get(after, "/asterisk/info").status_code == 200


def test_up_again_is_a_no_op(pair: tuple[Sandbox, Sandbox]) -> None:
    a = pair[0]
    before = a.status()
    assert a.up(DIALPLAN).pid == before.pid


def test_explicit_busy_port_is_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        box = Sandbox(f"{PREFIX}-busy", http_port=port)
        try:
            with pytest.raises(SandboxPortInUse, match=rf"port {port} .*--http-port"):
                box.up(DIALPLAN)
            assert not box.status().running
        finally:
            box.down(purge=True)


def test_down_stops_everything_and_frees_ports() -> None:
    a, b = Sandbox(f"{PREFIX}-c"), Sandbox(f"{PREFIX}-d")
    try:
        info_a, info_b = a.up(DIALPLAN), b.up(DIALPLAN)
        a.down()
        wait_until_blocking(lambda: not Path(f"/proc/{info_a.pid}").exists(), what="a to end")
        assert not a.status().running
        assert proc_mounted(info_a.root), "b still runs: /proc must stay"
        assert ari_get(info_b, "/asterisk/info").status_code == 200
        b.down()
        wait_until_blocking(lambda: not Path(f"/proc/{info_b.pid}").exists(), what="b to end")
        if not chroot_pids(info_b.root):  # other sessions may share the chroot
            assert not proc_mounted(info_b.root)
        http_a = int(info_a.ari_url.rsplit(":", 1)[1])
        assert port_is_free(http_a)
        assert port_is_free(info_a.sip_port, socket.SOCK_DGRAM)
        assert port_is_free(info_a.ami_port)
    finally:
        a.down(purge=True)
        b.down(purge=True)


def test_down_stops_an_asterisk_its_state_lost_track_of() -> None:
    """A run killed between start and state write leaves an Asterisk only the command line names."""
    box = Sandbox(f"{PREFIX}-e")
    try:
        info = box.up(DIALPLAN)
        state_path = info.root / f"srv/voicestatus/{box.name}/state.json"
        state = load_state(state_path)
        assert state is not None
        save_state(state_path, state.with_pid(None))
        assert not box.status().running
        box.down()
        wait_until_blocking(lambda: not Path(f"/proc/{info.pid}").exists(), what="Asterisk to end")
        http_port = int(info.ari_url.rsplit(":", 1)[1])
        wait_until_blocking(lambda: port_is_free(http_port), what="the HTTP port to be free")
        again = box.up(DIALPLAN)
        assert ari_get(again, "/asterisk/info").status_code == 200
    finally:
        box.down(purge=True)
