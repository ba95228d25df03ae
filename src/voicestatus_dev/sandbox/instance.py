"""The per-instance directory tree inside the shared chroot.

Asterisk's data directory normally is ``/usr/share/asterisk``, shared by
every process. Each instance gets its own ``data/`` made of symlinks into it,
so the shared tree stays read-only while ``data/sounds/voicestatus/`` is a
real directory the product can write its co-located message mirror into
(Asterisk then plays ``voicestatus/<ext>`` from there).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

INSTANCES_DIR = "/srv/voicestatus"
SHARED_DATA = "usr/share/asterisk"
_DIRS = ("etc/extra", "run", "spool/recording", "lib/keys", "log", "cache",
         "data/sounds/voicestatus")  # fmt: skip


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _link(link: Path, target: str) -> None:
    if link.is_symlink():
        if os.readlink(link) == target:
            return
        link.unlink()
    elif link.exists():
        return  # a real file or directory the instance owns
    link.symlink_to(target)


def prepare_instance(root: Path, host_base: Path, files: Mapping[str, str]) -> None:
    """Create the instance tree under ``host_base`` and (re)write its configs."""
    for sub in _DIRS:
        (host_base / sub).mkdir(parents=True, exist_ok=True)
    shared = root / SHARED_DATA
    for entry in sorted(shared.iterdir()):
        if entry.name != "sounds":
            _link(host_base / "data" / entry.name, f"/{SHARED_DATA}/{entry.name}")
    for entry in sorted((shared / "sounds").iterdir()):
        if entry.name != "voicestatus":
            _link(host_base / "data/sounds" / entry.name, f"/{SHARED_DATA}/sounds/{entry.name}")
    for name, text in files.items():
        secret = name in {"ari.conf", "manager.conf", "pjsip.conf"}
        write_atomic(host_base / "etc" / name, text, 0o600 if secret else 0o644)
