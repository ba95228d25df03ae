"""Opening, replacing and trusting files the way a root process must.

Several commands run as root on a PBX and touch files in directories that
other accounts (``asterisk``, the service user) can write to:
``extensions_custom.conf``, a legacy installation's ``rec_<ext>.wav``, the
configuration file itself. Checking a path and then opening it by name lets
whoever owns the directory swap in a symlink (to ``/etc/shadow``) or a FIFO
(which blocks the reader forever) in between. So everything here opens
first, with ``O_NOFOLLOW|O_NONBLOCK``, and checks the open descriptor
(``fstat``); the atomic replace sets owner and mode on the open temporary
file (``fchown``/``fchmod``) and keeps the original's, so a 0640
``asterisk:asterisk`` file is still 0640 ``asterisk:asterisk`` afterwards.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from voicestatus.errors import VoiceStatusError

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY


class UnsafeFile(VoiceStatusError):
    """A file we refuse to read or replace: a symlink, a FIFO, too big, untrusted."""

    error_id = "unsafe-file"

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


@dataclass(frozen=True)
class FileContent:
    """What :func:`read_regular` read, and the ``fstat`` of the descriptor it read from."""

    data: bytes
    stat: os.stat_result


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "a special file"


def open_regular(path: Path) -> int:
    """An O_NOFOLLOW|O_NONBLOCK descriptor of ``path``, which must be a regular file."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFile(
                f"{path} is a symbolic link; it is not followed (replace it with the real file)",
                reason="a symbolic link, not followed",
            ) from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _kind(st.st_mode)
            raise UnsafeFile(f"{path} is {kind}, not a regular file; refusing to read it", reason=kind)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: Path, *, max_bytes: int) -> FileContent:
    """Read ``path`` if it is a regular file (not a symlink) of at most ``max_bytes``.

    Never blocks on a FIFO and never follows a symlink in the last component;
    the size is checked on the descriptor and again while reading, so a file
    growing meanwhile cannot exceed the cap either.
    """
    fd = open_regular(path)
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        too_big = UnsafeFile(
            f"{path} is larger than {max_bytes} bytes; refusing to read it",
            reason=f"larger than {_size(max_bytes)}",
        )
        if st.st_size > max_bytes:
            raise too_big
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_big
    return FileContent(data, st)


def _size(n: int) -> str:
    return f"{n >> 20} MB" if n >= 1 << 20 else f"{n} bytes"


def read_existing(path: Path, *, max_bytes: int) -> FileContent | None:
    """:func:`read_regular`, or ``None`` when ``path`` does not exist."""
    try:
        return read_regular(path, max_bytes=max_bytes)
    except FileNotFoundError:
        return None


def atomic_replace(
    path: Path, data: bytes | str, *, like: os.stat_result | None = None, new_mode: int = 0o644
) -> None:
    """Replace ``path`` with ``data`` in one rename, keeping its owner, group and mode.

    ``like`` is the ``fstat`` of the file as it was read (``read_existing``);
    without it the current file is looked at (never through a symlink: a
    symlink or other non-regular file there is refused). A new file gets
    ``new_mode`` and the caller's owner. Owner and mode are set on the open
    temporary file, never by name, and the rename replaces the directory
    entry itself, so nothing outside the directory is ever written.
    """
    if like is None:
        try:
            current = os.lstat(path)
        except FileNotFoundError:
            current = None
        if current is not None and not stat.S_ISREG(current.st_mode):
            kind = _kind(current.st_mode)
            raise UnsafeFile(
                f"{path} is {kind}; refusing to replace it (point the command at the real file)",
                reason=kind,
            )
        like = current
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            if like is not None:
                if (like.st_uid, like.st_gid) != (os.geteuid(), os.getegid()):
                    os.fchown(handle.fileno(), like.st_uid, like.st_gid)
                os.fchmod(handle.fileno(), stat.S_IMODE(like.st_mode))
            else:
                os.fchmod(handle.fileno(), new_mode)
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def untrusted_reason(st: os.stat_result, *, directory: bool) -> str | None:
    """Why another account than root could change this file or directory, or ``None``.

    A directory that is world-writable but sticky (``/tmp``) is fine: there
    only an entry's owner may rename or remove it.
    """
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid != 0:
        return f"owned by {_user(st.st_uid)}, not root"
    if mode & 0o022 and not (directory and mode & stat.S_ISVTX):
        who = "its group" if mode & 0o020 else "every account"
        return f"writable by {who} (mode {mode:04o})"
    return None


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


@dataclass(frozen=True)
class Untrusted:
    """The first component of a path another account than root could change."""

    component: Path
    reason: str
    is_target: bool


def find_untrusted(path: Path, *, strict_target: bool = True) -> Untrusted | None:
    """The first component of ``path`` (from ``/`` down) that is not root's alone, or ``None``.

    Every component is checked, on the resolved path as it is actually
    reached: an account that can rename a directory on the way can
    substitute everything below it. ``strict_target`` refuses a target
    directory that is group/world-writable even when sticky.
    """
    real = Path(os.path.realpath(path))
    parts = [Path("/"), *(Path(*real.parts[: i + 1]) for i in range(1, len(real.parts)))]
    for index, component in enumerate(parts):
        st = os.lstat(component)
        last = index == len(parts) - 1
        is_dir = stat.S_ISDIR(st.st_mode)
        why = untrusted_reason(st, directory=is_dir and not (last and strict_target))
        if why is not None:
            return Untrusted(component, why, last)
    return None
