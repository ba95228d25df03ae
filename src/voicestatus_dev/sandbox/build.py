"""The cached Debian chroot that holds the sandbox's Asterisk.

Debian stable ships no Asterisk, so the sandbox debootstraps Debian unstable
with Asterisk 22 and the English and Russian core sounds once (about a
minute) and reuses it. The cache key covers everything that changes the
result, so a new recipe builds a new chroot next to the old one instead of
mutating a tree that running instances use. The tree is built under a
temporary name and renamed into place, and the ``.complete`` marker is
written last, so an interrupted build is never mistaken for a good one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from voicestatus.safe_files import find_untrusted
from voicestatus_dev.sandbox.errors import (
    SandboxBuildFailed,
    SandboxMirrorUnreachable,
    SandboxNeedsRoot,
    SandboxToolMissing,
    SandboxUnsafeCache,
)

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

SUITE = "sid"
PACKAGES: tuple[str, ...] = ("asterisk", "asterisk-core-sounds-en-wav", "asterisk-core-sounds-ru-wav")
RECIPE_VERSION = 1
DEFAULT_CACHE_DIR = Path("/var/cache/voicestatus")
CACHE_ENV = "VOICESTATUS_SANDBOX_CACHE"
MIRROR_ENV = "VOICESTATUS_DEBIAN_MIRROR"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
SOUNDS = "usr/share/asterisk/sounds"

_DOWNLOAD_FAILURE = re.compile(
    r"Failed getting release|Couldn't download|Failure trying to run: .*(wget|curl)"
    r"|Temporary failure resolving|Could not resolve|unable to resolve|Connection refused"
    r"|Network is unreachable|No route to host|Failed to fetch",
    re.IGNORECASE,
)
_PER_PACKAGE_LINE = re.compile(r"^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) \S+")


def cache_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR)


def check_cache(cache: Path, *, create: bool = True) -> Path:
    """Refuse a cache directory that an account other than root could change.

    The sandbox runs ``chroot`` and Asterisk as root from this tree, so
    whoever can write to it (or rename any directory above it) could make
    root run their programs. The cache itself must be root's and not group
    or world writable; each directory above it from ``/`` down must be
    root's too (a sticky world-writable one such as ``/tmp`` is fine: there
    nobody else can rename root's entries). ``create`` makes a missing
    cache (0755, root's).
    """
    if create:
        cache.mkdir(mode=0o755, parents=True, exist_ok=True)
    try:
        found = find_untrusted(cache, strict_target=True)
    except FileNotFoundError:
        return cache
    if found is not None:
        where = "it" if found.is_target else f"{found.component}, a directory above it,"
        raise SandboxUnsafeCache(
            f"the sandbox cache {cache} is unsafe: {where} is {found.reason}, and the sandbox runs "
            f"as root from it. Fix: chown root:root {found.component} && chmod go-w {found.component}, "
            f"or point {CACHE_ENV} at a directory only root can write to."
        )
    return cache


def cache_key() -> str:
    recipe = {"suite": SUITE, "packages": sorted(PACKAGES), "recipe": RECIPE_VERSION}
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
    return digest[:12]


def chroot_home(cache: Path) -> Path:
    """``<cache>/asterisk-<key>``: holds ``root/``, the marker and the build log."""
    return cache / f"asterisk-{cache_key()}"


def require_root() -> None:
    if os.geteuid() != 0:
        raise SandboxNeedsRoot("the Asterisk sandbox needs root for chroot and mount; run as root")


def resolve_in_root(root: Path, path: str) -> Path:
    """Host path of ``path`` as the chroot sees it, following absolute symlinks inside it."""
    current = root
    parts = [p for p in path.split("/") if p]
    hops = 0
    while parts:
        part = parts.pop(0)
        candidate = current / part
        if candidate.is_symlink():
            hops += 1
            if hops > 40:
                return candidate
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = root
            parts = [p for p in target.split("/") if p] + parts
        elif part == "..":
            current = current.parent if current != root else root
        elif part != ".":
            current = candidate
    return current


def _has_sounds(root: Path, language: str) -> bool:
    directory = resolve_in_root(root, f"{SOUNDS}/{language}")
    return directory.is_dir() and any(directory.iterdir())


def is_complete(home: Path) -> bool:
    root = home / "root"
    return (
        (home / ".complete").is_file()
        and (root / "usr/sbin/asterisk").exists()
        and _has_sounds(root, "en")
        and _has_sounds(root, "ru")
    )


def module_dir(root: Path) -> str:
    """The chroot's Asterisk module directory (its path names the architecture)."""
    found = sorted(root.glob("usr/lib/*/asterisk/modules"))
    if not found:
        raise SandboxBuildFailed(f"no Asterisk module directory in {root}")
    return "/" + str(found[0].relative_to(root))


_OCTAL_ESCAPE = re.compile(rb"\\([0-7]{3})")


def mount_points() -> list[str]:
    """Every mount point in ``/proc/self/mounts``, with the kernel's octal escapes decoded.

    The kernel writes space, tab, newline and backslash in a path as
    ``\\040``, ``\\011``, ``\\012`` and ``\\134``; all of them are decoded,
    bytes first, so a path that is not UTF-8 round-trips too.
    """
    with open("/proc/self/mounts", "rb") as mounts:
        data = mounts.read()
    points: list[str] = []
    for line in data.splitlines():
        fields = line.split(b" ")
        if len(fields) > 1:
            raw = _OCTAL_ESCAPE.sub(lambda m: bytes([int(m.group(1), 8) & 0xFF]), fields[1])
            points.append(os.fsdecode(raw))
    return points


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below ``path``, deepest first.

    Compared by device and inode, not by spelling: ``path`` (or a symlink to
    it) matches a mount point when the mount point or one of its parent
    directories is the same directory as ``path``. So an odd character in
    the name or a symlinked cache directory can never make a mount inside
    the chroot look absent, which would let ``rmtree`` walk into the host's
    ``/proc`` or ``/dev``.
    """
    try:
        target = os.stat(path)
    except OSError:
        return []
    key = (target.st_dev, target.st_ino)
    found = [Path(point) for point in mount_points() if _at_or_below(point, key)]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _at_or_below(point: str, key: tuple[int, int]) -> bool:
    current = Path(point)
    while True:
        try:
            st = os.lstat(current)  # mount points are canonical paths; no automount on lstat
        except OSError:
            return False
        if (st.st_dev, st.st_ino) == key:
            return True
        if current.parent == current:
            return False
        current = current.parent


def _remove_tree(path: Path) -> None:
    for point in mounts_under(path):
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)
    if mounts_under(path):
        raise SandboxBuildFailed(f"cannot remove {path}: something is still mounted inside it")
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``fcntl`` lock held for the ``with`` block, across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_chroot(cache: Path, progress: Progress | None = None) -> Path:
    """Return the chroot root, building it first if it is missing or broken."""
    say = progress or (lambda message: logger.info("%s", message))
    check_cache(cache)
    home = chroot_home(cache)
    if is_complete(home):
        return home / "root"
    require_root()
    with file_lock(cache / f"asterisk-{cache_key()}.lock"):
        if is_complete(home):  # another process built it while we waited
            return home / "root"
        _build(home, say)
    return home / "root"


def _debootstrap() -> str:
    found = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin:/sbin:/usr/local/sbin")
    if found is None:
        raise SandboxToolMissing("debootstrap is not installed: apt-get install debootstrap")
    return found


def _keyring() -> Path:
    if not KEYRING.is_file():
        raise SandboxToolMissing(
            f"the Debian archive keyring {KEYRING} is missing (debootstrap checks the archive's "
            "signatures with it): apt-get install debian-archive-keyring"
        )
    return KEYRING


def debootstrap_command(tool: str, staging: Path, mirror: str) -> list[str]:
    """The debootstrap command line: every download is checked against the archive keyring.

    ``--force-check-gpg`` makes a missing or bad Release signature fatal
    instead of a warning, so a tampered mirror cannot put code into a tree
    that runs as root.
    """
    command = [
        tool, "--variant=minbase", "--force-check-gpg", f"--keyring={_keyring()}",
        f"--include={','.join(PACKAGES)}", SUITE, str(staging),
    ]  # fmt: skip
    if mirror:
        command.append(mirror)
    return command


def _build(home: Path, say: Progress) -> None:
    tool = _debootstrap()
    if home.exists():
        say(f"removing incomplete sandbox chroot {home}")
        _remove_tree(home)
    home.mkdir(parents=True)
    staging = home / f"root.tmp-{os.getpid()}"
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    command = debootstrap_command(tool, staging, mirror)
    say(f"building the Asterisk sandbox chroot in {home} (Debian {SUITE}, about a minute)")
    log_path = home / "build.log"
    tail: list[str] = []
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert proc.stdout is not None
        with proc:
            for line in proc.stdout:
                log.write(line)
                line = line.rstrip()
                tail = [*tail[-19:], line]
                if line.startswith("I: ") and not _PER_PACKAGE_LINE.match(line):
                    say(line[3:])
        returncode = proc.returncode
    if returncode != 0:
        _remove_tree(staging)
        last = "\n".join(tail[-10:])
        where = mirror or "the default Debian mirror"
        if any(_DOWNLOAD_FAILURE.search(line) for line in tail):
            raise SandboxMirrorUnreachable(
                f"debootstrap could not download from {where}; check the network or set "
                f"{MIRROR_ENV} to a reachable Debian mirror. Last lines ({log_path}):\n{last}"
            )
        raise SandboxBuildFailed(f"debootstrap failed (exit {returncode}); see {log_path}:\n{last}")
    _finish(staging)
    staging.rename(home / "root")
    (home / ".complete").write_text(json.dumps({"key": cache_key(), "packages": PACKAGES}) + "\n")
    say("sandbox chroot ready")


def _finish(root: Path) -> None:
    """The fixes Asterisk needs in a fresh chroot before it can start."""
    (root / "var/run/asterisk").mkdir(parents=True, exist_ok=True)
    (root / "var/spool/asterisk/recording").mkdir(parents=True, exist_ok=True)
    ru = root / SOUNDS / "ru"
    if not ru.is_symlink() and not ru.exists():
        ru.symlink_to("ru_RU_f_IvrvoiceRU")
    (root / "srv/voicestatus").mkdir(parents=True, exist_ok=True)
    for point in mounts_under(root):  # debootstrap can leave proc/sys mounted on some hosts
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)
