"""Doctor check for the configuration file itself: who may read and change it.

The file holds the ARI, AMI and database passwords and commands root runs
(``[freepbx] reload_command``), so it should be ``root:voicestatus 0640``:
only root changes it, the service's group reads it, nobody else does. Run as
root, voicestatus refuses a file another account could change; this check
says so, and what to run, before a privileged command trips over it.
"""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

from voicestatus.config import OWNERSHIP_FIX
from voicestatus.doctor.findings import Finding
from voicestatus.safe_files import find_untrusted

SERVICE_GROUP = "voicestatus"


def check_config_file(path: Path, *, service_group: str = SERVICE_GROUP) -> Finding:
    """``ok`` for root:<service group> 0640 (or stricter), else what is wrong and the fix."""
    real = Path(os.path.realpath(path))
    fix = OWNERSHIP_FIX.format(path=real)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return Finding(
            "config-file", "warn", f"no configuration file at {real}: built-in defaults are in use",
            f"write one from voicestatus.example.toml, then: {fix}",
        )  # fmt: skip
    except OSError as exc:
        return Finding("config-file", "fail", f"cannot look at {real}: {exc.strerror}", fix)
    found = find_untrusted(real, strict_target=False)
    if found is not None:
        if found.is_target:
            detail = f"{real} is {found.reason}: another account could change settings root acts on"
        else:
            detail = f"{found.component}, a directory above {real}, is {found.reason}"
            fix = f"chown root {found.component} && chmod go-w {found.component}"
        return Finding("config-file", "fail", detail, fix)
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o007:
        return Finding(
            "config-file", "fail",
            f"{real} is readable by every account (mode {mode:04o}) and holds passwords", fix,
        )  # fmt: skip
    group = _group_name(st.st_gid)
    if not mode & 0o040:
        return Finding(
            "config-file", "warn", f"{real} (mode {mode:04o}) is not readable by its group {group}", fix
        )
    if group != service_group and _group_exists(service_group):
        return Finding(
            "config-file", "warn",
            f"{real} belongs to group {group}, not {service_group}: the service may not be able to read it",
            fix,
        )  # fmt: skip
    return Finding("config-file", "ok", f"{real} is root:{group} {mode:04o}")


def _group_exists(name: str) -> bool:
    """Whether the service's group exists yet (before ``useradd`` there is nothing to compare with)."""
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
