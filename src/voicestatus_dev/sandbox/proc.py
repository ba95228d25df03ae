"""Starting, probing and stopping an Asterisk process inside the chroot.

Asterisk is started through ``setsid -f`` so it is nobody's child: it keeps
running after ``voicestatus sandbox up`` exits, and a long-lived caller (the
test session) never collects a zombie or a "subprocess still running"
warning. Its PID is recorded by the tiny shell that ``exec``s it.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import signal
import subprocess
import time
from pathlib import Path

from voicestatus.errors import SandboxError
from voicestatus_dev.sandbox.build import mounts_under
from voicestatus_dev.sandbox.errors import SandboxNotRunning, SandboxStartFailed

_SPAWN = 'echo $$ > "$1"; shift; exec "$@"'


def pid_alive(pid: int | None, root: Path | None = None) -> bool:
    """Whether ``pid`` is a live (not zombie) process, inside ``root`` if given."""
    if pid is None or pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"]):
        return False
    if root is not None:
        try:
            return os.readlink(f"/proc/{pid}/root") == str(root.resolve())
        except OSError:
            return False
    return True


def chroot_pids(root: Path) -> list[int]:
    """Live processes whose root directory is ``root``."""
    target = str(root.resolve())
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "root") == target and pid_alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def instance_pids(root: Path, conf: str) -> list[int]:
    """Asterisk daemons in ``root`` started with ``-C conf``, whatever the state file says.

    A run killed at the wrong moment can leave an instance whose PID never
    reached its state file; this finds it by its command line so ``down``
    still stops it. Remote consoles (``-r``/``-rx``) are not daemons.
    """
    found: list[int] = []
    for pid in chroot_pids(root):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [arg.decode(errors="replace") for arg in argv if arg]
        if not args or Path(args[0]).name != "asterisk":
            continue
        remote = any(arg.startswith("-r") or arg.startswith("-R") for arg in args[1:])
        if not remote and _option(args, "-C") == conf:
            found.append(pid)
    return found


def _option(args: list[str], flag: str) -> str | None:
    for index, arg in enumerate(args[:-1]):
        if arg == flag:
            return args[index + 1]
    return None


def ensure_proc(root: Path) -> None:
    proc = root / "proc"
    if not os.path.ismount(proc):  # by device: the chroot's /proc is not the host's
        subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True, capture_output=True)


def release_proc(root: Path) -> bool:
    """Unmount the chroot's ``/proc`` unless a process still runs in it."""
    if chroot_pids(root):
        return False
    for point in mounts_under(root / "proc"):
        subprocess.run(["umount", str(point)], check=False, capture_output=True)
    return True


def spawn(root: Path, conf: str, log_file: Path, pid_file: Path) -> int:
    """Start ``asterisk -f -n -C conf`` in ``root`` detached; return its PID."""
    pid_file.unlink(missing_ok=True)
    command = ["setsid", "-f", "sh", "-c", _SPAWN, "spawn", str(pid_file),
               "chroot", str(root), "asterisk", "-f", "-n", "-C", conf]  # fmt: skip
    with open(log_file, "ab") as log:
        subprocess.run(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, check=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = pid_file.read_text(encoding="ascii").strip() if pid_file.exists() else ""
        if text.isdigit():
            return int(text)
        time.sleep(0.02)
    raise SandboxStartFailed(f"Asterisk did not start (no PID after 5 s); see {log_file}")


def cli(root: Path, conf: str, command: str, timeout: float = 30) -> str:
    """Run one ``asterisk -rx`` command against the instance configured by ``conf``."""
    result = subprocess.run(
        ["chroot", str(root), "asterisk", "-C", conf, "-rx", command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0 and "Unable to connect" in result.stdout + result.stderr:
        raise SandboxNotRunning(f"Asterisk is not running ({conf}): {result.stdout.strip()}")
    return result.stdout


def log_tail(*files: Path, lines: int = 20) -> str:
    chunks: list[str] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        if text:
            chunks.append(f"--- {path} ---\n" + "\n".join(text[-lines:]))
    return "\n".join(chunks) or "(no log output)"


def _ari_status(port: int, auth: tuple[str, str]) -> str:
    """``"200"`` when ARI answers our credentials, else why not.

    A bare ``http.client`` probe rather than httpx: the poll runs ten times a
    second and must not fill the caller's INFO log with request lines.
    """
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
    try:
        conn.request("GET", "/ari/asterisk/info", headers={"Authorization": f"Basic {token}"})
        response = conn.getresponse()
        response.read()
        return str(response.status)
    except OSError as exc:
        return type(exc).__name__
    finally:
        conn.close()


def wait_ready(
    pid: int, root: Path, port: int, auth: tuple[str, str], logs: tuple[Path, ...], timeout: float
) -> None:
    """Poll ARI until it answers 200; fail early with the log tail if Asterisk dies."""
    deadline = time.monotonic() + timeout
    while True:
        # Not checked against ``root``: until the spawning shell has exec'd
        # chroot (a moment on a busy machine) the PID still has the host's root.
        if not pid_alive(pid):
            raise SandboxStartFailed(f"Asterisk exited during start-up:\n{log_tail(*logs)}")
        last = _ari_status(port, auth)
        if last == "200":
            return
        if time.monotonic() > deadline:
            raise SandboxStartFailed(
                f"Asterisk ARI on 127.0.0.1:{port} not ready after {timeout:.0f} s ({last}):\n"
                f"{log_tail(*logs)}"
            )
        time.sleep(0.1)


def ari_healthy(port: int, auth: tuple[str, str]) -> bool:
    return _ari_status(port, auth) == "200"


def stop(root: Path, conf: str, pid: int, timeout: float = 10) -> None:
    """``core stop now``, wait for the PID to go, then SIGKILL it if it has not."""
    with contextlib.suppress(SandboxNotRunning, subprocess.TimeoutExpired):
        cli(root, conf, "core stop now", timeout=timeout)
    if _wait_gone(pid, root, timeout):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if not _wait_gone(pid, root, 5):
        raise SandboxError(f"Asterisk (PID {pid}) did not exit even after SIGKILL")


def _wait_gone(pid: int, root: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid, root):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
