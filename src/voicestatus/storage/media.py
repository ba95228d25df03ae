"""Content-addressed storage of processed messages, and the co-located mirror.

A message file is named by the sha256 of its 8 kHz WAV, so a file never
changes once written: Asterisk's HTTP media cache can keep it forever and a
new message is simply a new URL. Files appear atomically (temp file in the
same directory, fsync, rename) so Asterisk, a second service instance or a
crash never sees half a file. Layout::

    <root>/ab/ab12...ef.wav      8 kHz, 16-bit mono
    <root>/ab/ab12...ef.wav16    16 kHz, 16-bit mono
    <root>/tmp/                  scratch space on the same filesystem

The mirror copies an operator's active message to
``<sounds_dir>/voicestatus/<ext>.wav`` so the dialplan can still play it while
the service is down.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from voicestatus.errors import InvalidInput, VoiceStatusError
from voicestatus.services.extensions import validate_extension

if TYPE_CHECKING:
    from voicestatus.audio.process import ProcessedAudio

logger = logging.getLogger(__name__)

MediaFormat = Literal["wav", "wav16"]
FORMATS: tuple[MediaFormat, ...] = ("wav", "wav16")
# A stored message's id: the sha256 of its 8 kHz WAV, as 64 lowercase hex digits.
# The pattern is for file and route names; everything else calls validate_sha256.
SHA256_PATTERN = "[0-9a-f]{64}"
_SHA256 = re.compile(SHA256_PATTERN)
_FILE_MODE = 0o644  # Asterisk runs as another user and must read mirrored files


class MediaStoreError(VoiceStatusError):
    """The media directory (or the mirror directory) cannot be written."""

    error_id = "media-store-error"
    status_code = 500


class MediaNotFound(VoiceStatusError):
    """No stored message has this sha256."""

    error_id = "media-not-found"
    status_code = 404


def is_valid_sha256(sha256: object) -> bool:
    """True if ``sha256`` is a stored message's id (64 lowercase hex digits)."""
    return isinstance(sha256, str) and _SHA256.fullmatch(sha256) is not None


def validate_sha256(sha256: str) -> str:
    """``sha256`` if it is 64 lowercase hex digits, else :class:`InvalidInput`."""
    if not is_valid_sha256(sha256):
        raise InvalidInput(
            "A media id must be 64 lowercase hexadecimal characters.",
            details={"sha256": repr(sha256)[:80]},
        )
    return sha256


class MediaStore:
    """Processed messages on disk, addressed by the sha256 of their 8 kHz WAV."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"
        try:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MediaStoreError(
                f"Cannot create the media directory {str(self.root)!r}: {exc.strerror}. "
                "Create it or set [media] dir to a writable directory.",
                details={"path": str(self.root)},
            ) from exc

    def path(self, sha256: str, fmt: MediaFormat) -> Path:
        """Where the ``fmt`` variant of ``sha256`` lives (whether or not it exists)."""
        validate_sha256(sha256)
        if fmt not in FORMATS:
            raise InvalidInput("Media format must be 'wav' or 'wav16'.", details={"format": repr(fmt)[:40]})
        return self.root / sha256[:2] / f"{sha256}.{fmt}"

    def put(self, audio: ProcessedAudio) -> None:
        """Store both variants; storing the same message again changes nothing.

        The 16 kHz file is written first so that a present ``.wav`` means both are.
        """
        wav = self.path(audio.sha256, "wav")
        wav16 = self.path(audio.sha256, "wav16")
        for target, data in ((wav16, audio.wav16k), (wav, audio.wav8k)):
            if target.exists():
                # Fresh again: retention only removes unreferenced files that are old.
                os.utime(target)
            else:
                _atomic_write(target, data)
        logger.debug("stored media %s", audio.sha256)

    def exists(self, sha256: str) -> bool:
        """Whether both variants of ``sha256`` are stored."""
        return all(self.path(sha256, fmt).is_file() for fmt in FORMATS)

    def delete(self, sha256: str) -> None:
        """Remove both variants; deleting a missing message is not an error."""
        for fmt in FORMATS:
            self.path(sha256, fmt).unlink(missing_ok=True)

    def check_writable(self) -> None:
        """Raise :class:`MediaStoreError` with a fix unless a file can be written and removed."""
        try:
            fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix=".check-")
            try:
                os.write(fd, b"ok")
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(name)
        except OSError as exc:
            raise MediaStoreError(
                f"The media directory {str(self.root)!r} is not writable: {exc.strerror}. "
                "Give the service user write access or set [media] dir elsewhere.",
                details={"path": str(self.root)},
            ) from exc

    def mirror(self, sounds_dir: Path, extension: str, sha256: str | None) -> None:
        """Write (or with ``sha256=None`` remove) ``<sounds_dir>/voicestatus/<ext>.wav``."""
        validate_extension(extension)
        directory = Path(sounds_dir) / "voicestatus"
        target = directory / f"{extension}.wav"
        if sha256 is None:
            try:
                target.unlink(missing_ok=True)
            except OSError as exc:
                raise MediaStoreError(
                    f"Could not remove {str(target)!r}: {exc.strerror or exc}.",
                    details={"path": str(target)},
                ) from exc
            return
        source = self.path(sha256, "wav")
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            raise MediaNotFound("No stored message has this id.", details={"sha256": sha256}) from None
        if not Path(sounds_dir).is_dir():
            raise MediaStoreError(
                f"The Asterisk sounds directory {str(sounds_dir)!r} does not exist. "
                "Fix [asterisk] sounds_dir or leave it empty to disable the mirror.",
                details={"path": str(sounds_dir)},
            )
        _atomic_write(target, data)


def _atomic_write(target: Path, data: bytes) -> None:
    """Readers see the old file or the whole new one, never a partial one."""
    try:
        target.parent.mkdir(exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fchmod(handle.fileno(), _FILE_MODE)
                os.fsync(handle.fileno())
            os.replace(name, target)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
    except OSError as exc:
        raise MediaStoreError(
            f"Could not write {str(target)!r}: {exc.strerror or exc}.",
            details={"path": str(target)},
        ) from exc


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
