"""`voicestatus demo`: everything up on one machine, and nothing left after SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx
import pytest

from support import free_port
from voicestatus_dev.sandbox import Sandbox

pytestmark = pytest.mark.asterisk


def test_demo_starts_everything_and_stops_cleanly(tmp_path: Path) -> None:
    name = f"demo-t{os.getpid()}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICESTATUS_")}
    with subprocess.Popen(
        [sys.executable, "-m", "voicestatus", "demo", "--name", name, "--listen", f"127.0.0.1:{port}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        try:
            lines = _run_demo_checks(proc, name, port)
        finally:
            left = _asterisk_processes(name)
            Sandbox(name).down(purge=True)
    assert proc.returncode == 0, "".join(lines)
    assert left == [], "the demo stopped the sandbox Asterisk it started"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)


def _run_demo_checks(proc: subprocess.Popen[str], name: str, port: int) -> list[str]:
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
            if "Softphone accounts" in line:
                break
        banner = "".join(lines)
        assert "voicestatus demo is running" in banner, banner
        assert f"http://127.0.0.1:{port}/" in banner
        assert "SIP registrar  : 127.0.0.1:" in banner
        while not any("Web UI login" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        accounts = [line.split() for line in lines if line.split()[1:2] == ["password"]]
        assert [a[0] for a in accounts] == [str(ext) for ext in range(101, 110)]
        login = next(line for line in lines if "Web UI login" in line).split()
        admin, password = login[4], login[6]

        health: dict[str, object] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    health = json.loads(resp.read())
                    break
            except OSError:
                time.sleep(0.2)
        assert health.get("ok") is True, health
        assert Sandbox(name).status().running
        _log_in(port, admin, password)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rest, _ = proc.communicate(timeout=60)
            lines.append(rest)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    return lines


def _log_in(port: int, username: str, password: str) -> None:
    """The printed admin login opens the web UI, as a supervisor would use it."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        answer = client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token[1]}
        )
        assert answer.status_code == 303, answer.text
        assert client.get("/api/v1/me").json()["name"] == username


def _asterisk_processes(name: str) -> list[int]:
    """PIDs of Asterisk processes running the named sandbox instance."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if cmdline.startswith(b"asterisk") and f"/srv/voicestatus/{name}/".encode() in cmdline:
                found.append(int(entry.name))
    return found
