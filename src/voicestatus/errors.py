"""The exception tree of voicestatus.

Every error the product raises on purpose derives from ``VoiceStatusError``,
so the CLI and the HTTP layer can turn it into a clear message with a stable
``error_id`` instead of a traceback::

    VoiceStatusError
    ├── ConfigError                 bad or missing configuration
    ├── SandboxError                the test/demo Asterisk could not be built or run
    ├── InvalidInput                attacker-controlled input refused (caller ID, DTMF, upload)
    ├── AriError                    anything that went wrong talking to Asterisk's REST Interface
    │   ├── AriUnreachable          connect/read failures, timeouts
    │   ├── AriAuthError            401/403: wrong ARI credentials
    │   └── AriRequestError         any other non-2xx answer
    │       └── AriNotFound         404: the channel, playback or recording is gone
    └── AmiError                    the Asterisk Manager Interface (asterisk/ami.py)
        ├── AmiUnreachable          cannot connect, or no answer in time
        ├── AmiAuthError            the manager user or secret was refused
        └── AmiActionError          Asterisk answered an action with an error

Feature modules add narrower leaves of their own (``audio.errors``,
``voicestatus_dev.sandbox.errors``, ``services.operators.UnknownOperator``, ...),
each with a kebab-case ``error_id``.
"""

from __future__ import annotations


class VoiceStatusError(Exception):
    """Base of every deliberate voicestatus error."""

    error_id = "voicestatus-error"
    status_code = 500

    def __init__(self, message: str, *, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ConfigError(VoiceStatusError):
    """The configuration file or an environment override is invalid."""

    error_id = "invalid-configuration"


class SandboxError(VoiceStatusError):
    """The sandbox Asterisk could not be built, started or stopped."""

    error_id = "sandbox-error"


class InvalidInput(VoiceStatusError):
    """Input from outside (caller ID, DTMF, upload, API body) was refused."""

    error_id = "invalid-input"
    status_code = 400


class AriError(VoiceStatusError):
    """Talking to Asterisk's REST Interface failed."""

    error_id = "asterisk-ari-error"
    status_code = 502


class AriUnreachable(AriError):
    """Asterisk did not answer: connection refused, timeout, socket closed."""

    error_id = "asterisk-ari-unreachable"
    status_code = 503


class AriAuthError(AriError):
    """Asterisk refused our ARI credentials."""

    error_id = "asterisk-ari-unauthorized"
    status_code = 502


class AriRequestError(AriError):
    """Asterisk answered a request with an error status."""

    def __init__(self, message: str, *, http_status: int, details: dict[str, object] | None = None):
        super().__init__(message, details=details)
        self.http_status = http_status


class AriNotFound(AriRequestError):
    """The resource is gone, usually because the caller hung up."""

    error_id = "asterisk-resource-not-found"
