"""The sandbox runs as root: its cache, its mounts and its downloads (security issue item 14).

Real directories with real owners (``nobody``), real tmpfs mounts on paths
with every character ``/proc/self/mounts`` escapes, and debootstrap's real
command line (recorded by a stand-in, so no download is needed).
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from voicestatus_dev.sandbox import Sandbox
from voicestatus_dev.sandbox import build as sandbox_build
from voicestatus_dev.sandbox.build import mounts_under
from voicestatus_dev.sandbox.errors import SandboxToolMissing, SandboxUnsafeCache

NOBODY = pwd.getpwnam("nobody")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox and mount need root")

RECORDING_DEBOOTSTRAP = """#!/bin/sh
printf '%s\\n' "$@" > "$ARGS_FILE"
for target; do :; done
sounds="$target/usr/share/asterisk/sounds"
mkdir -p "$target/usr/sbin" "$target/usr/lib/x86_64-linux-gnu/asterisk/modules" \\
  "$sounds/en" "$sounds/ru_RU_f_IvrvoiceRU"
touch "$target/usr/sbin/asterisk" "$sounds/en/beep.wav" "$sounds/ru_RU_f_IvrvoiceRU/beep.wav"
echo "I: Base system installed successfully."
"""


@pytest.fixture
def recorded_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "debootstrap"
    script.write_text(RECORDING_DEBOOTSTRAP)
    script.chmod(0o755)
    args = tmp_path / "args"
    monkeypatch.setenv("ARGS_FILE", str(args))
    monkeypatch.delenv("VOICESTATUS_DEBIAN_MIRROR", raising=False)
    monkeypatch.setattr(sandbox_build, "_debootstrap", lambda: str(script))
    return args


def test_debootstrap_checks_signatures_against_the_archive_keyring(
    tmp_path: Path, recorded_args: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)  # root's alone: accepted
    assert (sandbox_build.ensure_chroot(cache) / "usr/sbin/asterisk").exists()
    args = recorded_args.read_text().splitlines()
    assert "--force-check-gpg" in args
    assert "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg" in args
    home = sandbox_build.chroot_home(tmp_path / "cache")
    assert args[-2:] == ["sid", str(home / f"root.tmp-{os.getpid()}")]


def test_a_missing_keyring_says_how_to_install_it(
    tmp_path: Path, recorded_args: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_build, "KEYRING", tmp_path / "no-keyring.gpg")
    with pytest.raises(SandboxToolMissing, match="apt-get install debian-archive-keyring"):
        sandbox_build.ensure_chroot(tmp_path / "cache")
    assert not recorded_args.exists(), "nothing is downloaded unchecked"


@pytest.mark.parametrize(
    ("owner", "mode", "needle"),
    [(NOBODY.pw_uid, 0o700, "owned by nobody"), (0, 0o775, "writable by its group"), (0, 0o1777, "writable")],
)
def test_an_unsafe_cache_is_refused_before_anything_runs(
    tmp_path: Path, recorded_args: Path, monkeypatch: pytest.MonkeyPatch, owner: int, mode: int, needle: str
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    os.chown(cache, owner, 0)
    cache.chmod(mode)
    monkeypatch.setenv("VOICESTATUS_SANDBOX_CACHE", str(cache))
    with pytest.raises(SandboxUnsafeCache, match=needle) as caught:
        Sandbox("unsafe-cache").up("[voicestatus-menu]\n")
    assert f"chown root:root {cache} && chmod go-w {cache}" in caught.value.message
    assert not recorded_args.exists()
    assert list(cache.iterdir()) == []


def test_a_cache_below_another_accounts_directory_is_refused(tmp_path: Path, recorded_args: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, NOBODY.pw_uid, NOBODY.pw_gid)
    cache = theirs / "cache"
    cache.mkdir(mode=0o700)
    with pytest.raises(SandboxUnsafeCache, match=rf"{theirs}, a directory above it, is owned by nobody"):
        sandbox_build.ensure_chroot(cache)
    assert not recorded_args.exists()


# -- mounts are found by device, whatever their names -------------------------


@pytest.fixture
def odd_mount(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs mounted on a directory whose name has a space, tab, newline and backslash."""
    base = tmp_path / "chroot"
    point = base / "pro c\tx\ny\\z"
    point.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "vs-test", str(point)], check=True, capture_output=True)
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)


def test_mounts_under_decodes_every_escape_and_follows_symlinks(odd_mount: Path, tmp_path: Path) -> None:
    base = odd_mount.parent
    assert mounts_under(base) == [odd_mount]
    assert mounts_under(odd_mount) == [odd_mount]
    link = tmp_path / "link"
    link.symlink_to(base)
    assert mounts_under(link) == [odd_mount], "a symlinked path finds the same mount"
    assert mounts_under(tmp_path / "elsewhere") == []
