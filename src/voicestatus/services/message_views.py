"""What the message service answers with: frozen values, never ORM rows.

Nothing a caller keeps can reach back into a closed session, and the web,
the flows and the mirror depend on these values, not on the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from voicestatus.storage.models import Message


@dataclass(frozen=True)
class MessageView:
    id: int
    extension: str
    status: int
    sha256: str
    duration: float
    talk_duration: float
    loudness_lufs: float | None
    created_at: datetime
    created_by: str
    is_current: bool = True
    retired_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class PlayStats:
    message_id: int
    count: int
    last_played_at: datetime | None


@dataclass(frozen=True)
class MessageState:
    """One operator's messages as the phone menu shows them, read in one query.

    ``status`` is the active status, else the catalogue's first; ``current``
    its message, if any; ``playing`` whether callers hear a message now.
    """

    status: int
    current: MessageView | None
    playing: bool
    message_enabled: bool


def message_view(row: Message) -> MessageView:
    """A detached copy of a stored message."""
    return MessageView(
        id=row.id,
        extension=row.extension,
        status=row.status,
        sha256=row.sha256,
        duration=row.duration,
        talk_duration=row.talk_duration,
        loudness_lufs=row.loudness_lufs,
        created_at=row.created_at,
        created_by=row.created_by,
        is_current=row.is_current,
        retired_at=row.retired_at,
        deleted_at=row.deleted_at,
    )
