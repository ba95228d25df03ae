"""A real Asterisk 22 on loopback, for tests, ``make demo`` and benchmarks.

The product's promise is "works against a real Asterisk", and these hosts
have no Asterisk package, so the sandbox runs one from a cached Debian
chroot (see ``build``). Several named instances share that chroot;
each has its own config, spool, database, logs and ports under
``/srv/voicestatus/<name>`` inside it, so tests can run two PBXs side by side
and the demo can keep its own. Everything listens on 127.0.0.1 only.

The API is blocking; async callers wrap it in ``asyncio.to_thread``.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from voicestatus.errors import SandboxError
from voicestatus_dev.sandbox import proc
from voicestatus_dev.sandbox.build import (
    cache_dir,
    check_cache,
    chroot_home,
    ensure_chroot,
    file_lock,
    module_dir,
    require_root,
)
from voicestatus_dev.sandbox.conf import instance_files
from voicestatus_dev.sandbox.errors import SandboxNotRunning, SandboxPortInUse
from voicestatus_dev.sandbox.info import USERNAME, SandboxInfo, describe, layout
from voicestatus_dev.sandbox.instance import (
    INSTANCES_DIR,
    prepare_instance,
    write_atomic,
)
from voicestatus_dev.sandbox.layout import SipAccount
from voicestatus_dev.sandbox.state import (
    InstanceState,
    PortRequest,
    allocate,
    load_state,
    save_state,
)

__all__ = ["Sandbox", "SandboxError", "SandboxInfo", "SipAccount"]

logger = logging.getLogger(__name__)

READY_TIMEOUT = 60.0
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _check_name(kind: str, name: str) -> str:
    if not _NAME.fullmatch(name):
        raise SandboxError(f"invalid {kind} name {name!r}: use ASCII letters, digits, '-' and '_'")
    return name


class Sandbox:
    """One named Asterisk instance in the shared sandbox chroot."""

    def __init__(
        self,
        name: str = "default",
        *,
        cache_dir: Path | None = None,
        http_port: int | None = None,
        sip_port: int | None = None,
        ami_port: int | None = None,
    ) -> None:
        self.name = _check_name("sandbox instance", name)
        self._cache = _cache(cache_dir)
        self.root = chroot_home(self._cache) / "root"
        self._request = PortRequest(http=http_port, sip=sip_port, ami=ami_port)
        self._base = f"{INSTANCES_DIR}/{name}"
        self._host_base = self.root / INSTANCES_DIR.lstrip("/") / name
        self._conf = f"{self._base}/etc/asterisk.conf"
        self._state_path = self._host_base / "state.json"

    # -- public API -------------------------------------------------------

    def up(self, dialplan: str, *, progress: Callable[[str], None] | None = None) -> SandboxInfo:
        """Build the chroot if needed and start this instance; no-op if it runs."""
        say = progress or (lambda message: logger.info("%s", message))
        require_root()
        ensure_chroot(self._cache, progress)
        with file_lock(self._cache / "instances.lock"):
            state = load_state(self._state_path)
            if state is not None and proc.pid_alive(state.pid, self.root):
                self._check_same_ports(state)
                if proc.ari_healthy(*self._ari(state)):
                    if self._read_dialplan() != dialplan:
                        self.set_dialplan(dialplan)
                    return self.status()
                say(f"sandbox {self.name!r} is not answering; restarting it")
                proc.stop(self.root, self._conf, state.pid or 0)
            self._stop_strays()
            state = allocate(self.name, state, self._request, self._others())
            self._write_config(state)
            write_atomic(self._host_base / "etc/voicestatus.conf", dialplan)
            say(f"starting Asterisk {self.name!r} (ARI http://127.0.0.1:{state.http_port})")
            self._start(state)
        return self.status()

    def down(self, *, purge: bool = False) -> None:
        """Stop this instance; unmount the chroot's /proc when it was the last one.

        ``purge`` also deletes the instance directory (config, logs, state),
        for throw-away instances such as the ones tests create.
        """
        require_root()
        if not self.root.is_dir():
            return
        check_cache(self._cache, create=False)
        with file_lock(self._cache / "instances.lock"):
            state = load_state(self._state_path)
            if state is not None:
                if proc.pid_alive(state.pid, self.root):
                    proc.stop(self.root, self._conf, state.pid or 0)
                save_state(self._state_path, state.with_pid(None))
            self._stop_strays()
            proc.release_proc(self.root)
            if purge and self._host_base.is_dir():
                shutil.rmtree(self._host_base)

    def status(self) -> SandboxInfo:
        try:
            state = load_state(self._state_path)
        except PermissionError as exc:
            raise SandboxError(f"cannot read {self._state_path}: run as root") from exc
        if state is None:
            state = InstanceState(self.name, self._request.http or 0, self._request.sip or 0,
                                  self._request.ami or 0, 0, "", "", {})  # fmt: skip
        running = proc.pid_alive(state.pid, self.root)
        return describe(self.name, self.root, self._host_base, state, running=running)

    def cli(self, command: str) -> str:
        """Run an Asterisk CLI command (``asterisk -rx``) and return its output."""
        self._running_state()
        return proc.cli(self.root, self._conf, command)

    def set_dialplan(self, text: str) -> None:
        """Replace the product's generated dialplan and reload it."""
        self._running_state()
        write_atomic(self._host_base / "etc/voicestatus.conf", text)
        self.cli("dialplan reload")

    def add_dialplan(self, name: str, text: str) -> None:
        """Add (or replace) an extra dialplan file ``etc/extra/<name>.conf`` and reload."""
        _check_name("dialplan file", name)
        self._running_state()
        write_atomic(self._host_base / "etc/extra" / f"{name}.conf", text)
        self.cli("dialplan reload")

    def restart(self) -> None:
        """Stop and start Asterisk again with the same ports and passwords."""
        require_root()
        check_cache(self._cache, create=False)
        with file_lock(self._cache / "instances.lock"):
            state = self._running_state()
            proc.stop(self.root, self._conf, state.pid or 0)
            self._start(state)

    # -- internals --------------------------------------------------------

    def _start(self, state: InstanceState) -> None:
        # A sandbox starts clean: recordings left by an earlier run (a killed
        # test, a crashed demo) would otherwise show up as this run's.
        for leftover in (self._host_base / "spool/recording").glob("*"):
            if leftover.is_file():
                leftover.unlink()
        proc.ensure_proc(self.root)
        log_dir = self._host_base / "log"
        stdout_log = log_dir / "asterisk.out"
        pid = proc.spawn(self.root, self._conf, stdout_log, self._host_base / "run/spawn.pid")
        save_state(self._state_path, state.with_pid(pid))
        logs = (log_dir / "messages.log", stdout_log)
        try:
            proc.wait_ready(pid, self.root, *self._ari(state), logs=logs, timeout=READY_TIMEOUT)
        except SandboxError:
            if proc.pid_alive(pid, self.root):
                proc.stop(self.root, self._conf, pid)
            save_state(self._state_path, state.with_pid(None))
            proc.release_proc(self.root)
            raise

    def _stop_strays(self) -> None:
        """Stop this instance's Asterisk processes that its state file lost track of."""
        for pid in proc.instance_pids(self.root, self._conf):
            logger.warning("stopping Asterisk PID %d of sandbox %r missing from its state", pid, self.name)
            proc.stop(self.root, self._conf, pid)

    def _ari(self, state: InstanceState) -> tuple[int, tuple[str, str]]:
        return state.http_port, (USERNAME, state.ari_password)

    def _running_state(self) -> InstanceState:
        state = load_state(self._state_path)
        if state is None or not proc.pid_alive(state.pid, self.root):
            raise SandboxNotRunning(
                f"sandbox {self.name!r} is not running; start it with `voicestatus sandbox up`"
            )
        return state

    def _check_same_ports(self, state: InstanceState) -> None:
        have = {"--http-port": state.http_port, "--sip-port": state.sip_port,
                "--ami-port": state.ami_port}  # fmt: skip
        asked = {"--http-port": self._request.http, "--sip-port": self._request.sip,
                 "--ami-port": self._request.ami}  # fmt: skip
        for option, port in asked.items():
            if port is not None and port != have[option]:
                raise SandboxPortInUse(
                    f"sandbox {self.name!r} is already running with {option} {have[option]}; "
                    f"run `voicestatus sandbox down --name {self.name}` to change it",
                    details={"option": option, "port": have[option]},
                )

    def _others(self) -> list[InstanceState]:
        found: list[InstanceState] = []
        for path in sorted(self._host_base.parent.glob("*/state.json")):
            other = load_state(path) if path.parent.name != self.name else None
            if other is not None and proc.pid_alive(other.pid, self.root):
                found.append(other)
        return found

    def _read_dialplan(self) -> str | None:
        try:
            return (self._host_base / "etc/voicestatus.conf").read_text(encoding="utf-8")
        except OSError:
            return None

    def _write_config(self, state: InstanceState) -> None:
        files = instance_files(layout(state, base=self._base, module_dir=module_dir(self.root)))
        prepare_instance(self.root, self._host_base, files)


def _cache(explicit: Path | None) -> Path:
    return cache_dir(explicit)
