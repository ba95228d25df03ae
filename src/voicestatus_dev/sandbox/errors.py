"""Why the sandbox Asterisk could not be built, started or stopped.

Each case a person can fix has its own class and ``error_id`` so the message
can say what to do::

    SandboxError
    ├── SandboxNeedsRoot          chroot and mount need root
    ├── SandboxToolMissing        debootstrap (or the archive keyring) is not installed
    ├── SandboxUnsafeCache        the cache directory is not root's alone
    ├── SandboxBuildFailed        debootstrap failed for another reason
    │   └── SandboxMirrorUnreachable   the Debian mirror could not be reached
    ├── SandboxPortInUse          an explicitly requested port is taken
    ├── SandboxStartFailed        Asterisk died or never answered ARI
    └── SandboxNotRunning         a command needs a running instance
"""

from __future__ import annotations

from voicestatus.errors import SandboxError


class SandboxNeedsRoot(SandboxError):
    error_id = "sandbox-needs-root"


class SandboxToolMissing(SandboxError):
    error_id = "sandbox-tool-missing"


class SandboxUnsafeCache(SandboxError):
    error_id = "sandbox-unsafe-cache"


class SandboxBuildFailed(SandboxError):
    error_id = "sandbox-build-failed"


class SandboxMirrorUnreachable(SandboxBuildFailed):
    error_id = "sandbox-mirror-unreachable"


class SandboxPortInUse(SandboxError):
    error_id = "sandbox-port-in-use"


class SandboxStartFailed(SandboxError):
    error_id = "sandbox-start-failed"


class SandboxNotRunning(SandboxError):
    error_id = "sandbox-not-running"
