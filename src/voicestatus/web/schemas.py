"""The API's JSON shapes and the conversions from service views into them.

Kept apart from the routes so the OpenAPI schema (and the property-based
tests generated from it) describe exactly what the handlers return.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from voicestatus.config import Config, Status
from voicestatus.services.audit import AuditEntry
from voicestatus.services.messages import MessageService, MessageView, PlayStats
from voicestatus.services.operators import OperatorView
from voicestatus.services.pin_guard import PinGuard
from voicestatus.services.pins import PIN_PATTERN
from voicestatus.web.errors import NotFound
from voicestatus.web.media import media_url

OperatorState = Literal["active", "expired", "none"]
Pin = Annotated[str, Field(pattern=f"^{PIN_PATTERN}$")]
# No control characters (NUL, CR/LF, escapes, bidi overrides): names end up in
# pages, logs and exports, and PostgreSQL refuses a NUL outright.
Name = Annotated[
    str, Field(max_length=100, pattern="^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$")
]
StatusRef = Annotated[int, Field(ge=1, le=9)] | Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class MessageOut(BaseModel):
    status: int
    status_key: str
    id: int
    sha256: str
    duration: float
    talk_duration: float
    loudness_lufs: float | None
    created_at: datetime
    created_by: str
    audio_url: str
    media_url: str
    play_count: int
    last_played_at: datetime | None


class OperatorOut(BaseModel):
    extension: str
    name: str | None
    has_pin: bool
    enabled: bool
    active_status: int | None
    active_status_key: str | None
    message_enabled: bool
    expires_at: datetime | None
    expired: bool
    playing: bool = Field(description="Whether callers hear a message now")
    updated_at: datetime | None
    messages: list[MessageOut]
    pin_locked_until: datetime | None = Field(
        default=None,
        description="Until when PIN entry (phone and web) is locked after too many wrong PINs; "
        "an admin clears it with DELETE /api/v1/operators/{ext}/pin-lock",
    )


class OperatorPage(BaseModel):
    items: list[OperatorOut]
    total: int
    offset: int
    limit: int


def _storable(when: datetime) -> datetime:
    """An aware time the database can store (as UTC) and compare: years 1970 to 9998."""
    try:
        utc = when.astimezone(UTC)
    except OverflowError:
        raise ValueError("the date is out of range") from None
    if not 1970 <= utc.year <= 9998:
        raise ValueError("the date is out of range (years 1970 to 9998)")
    return when


_ISO_ONLY = "expected an ISO 8601 time with a UTC offset, e.g. 2030-01-31T18:00:00+03:00"


def _iso_only(value: object) -> object:
    """ISO 8601 text read as such; a bare number (a Unix time to pydantic) is a likely mistake."""
    if not isinstance(value, str):
        return value
    if value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError(_ISO_ONLY)
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(_ISO_ONLY) from None


StorableDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only), AfterValidator(_storable)]


class OperatorPatch(BaseModel):
    """Only the fields present change; ``null`` clears name, PIN, active status and expiry."""

    # Strict: "false", 0 or a Unix time are type errors, not quietly a change.
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name | None = None
    pin: Pin | None = None
    enabled: bool = True
    active_status: StatusRef | None = None
    message_enabled: bool = True
    expires_at: StorableDatetime | None = None


class SwitchOut(BaseModel):
    extension: str
    message_enabled: bool


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    extension: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditOut]
    total: int
    offset: int
    limit: int


class StatusOut(BaseModel):
    digit: int
    key: str
    names: dict[str, str]


class MeOut(BaseModel):
    kind: Literal["admin", "token", "operator"]
    name: str
    extension: str | None
    csrf_token: str | None


class UnknownStatus(NotFound):
    """The status is neither a digit nor a key of ``[statuses]``."""

    error_id = "unknown-status"


def resolve_status(config: Config, ref: str | int) -> Status:
    """The catalogue entry for a status digit or key."""
    text = str(ref)
    for status in config.statuses:
        if text == str(status.digit) or text == status.key:
            return status
    known = ", ".join(f"{s.digit} ({s.key})" for s in config.statuses)
    raise UnknownStatus(f"Unknown status; known statuses: {known}.", details={"status": text[:40]})


def status_key(config: Config, digit: int | None) -> str | None:
    if digit is None:
        return None
    return next((s.key for s in config.statuses if s.digit == digit), str(digit))


def _message_out(config: Config, view: MessageView, stats: PlayStats) -> MessageOut:
    return MessageOut(
        status=view.status,
        status_key=status_key(config, view.status) or str(view.status),
        id=view.id,
        sha256=view.sha256,
        duration=round(view.duration, 3),
        talk_duration=round(view.talk_duration, 3),
        loudness_lufs=view.loudness_lufs,
        created_at=view.created_at,
        created_by=view.created_by,
        audio_url=f"/api/v1/operators/{view.extension}/messages/{view.status}",
        media_url=media_url(view.sha256),
        play_count=stats.count,
        last_played_at=stats.last_played_at,
    )


async def message_out(config: Config, messages: MessageService, view: MessageView) -> MessageOut:
    return _message_out(config, view, await messages.play_stats(view.id))


async def operators_out(
    config: Config, messages: MessageService, ops: Sequence[OperatorView], guard: PinGuard | None = None
) -> list[OperatorOut]:
    """A page of operators; their messages and play counts come from one query, not one per row.

    With ``guard``, PIN lock-outs are filled in (one more query for the page).
    """
    current = await messages.current_for([op.extension for op in ops])
    locks = await guard.locks(op.extension for op in ops) if guard is not None else {}
    now = datetime.now(UTC)
    return [
        _operator_out(config, op, current.get(op.extension, []), now).model_copy(
            update={"pin_locked_until": locks.get(op.extension)}
        )
        for op in ops
    ]


async def operator_out(
    config: Config, messages: MessageService, op: OperatorView, guard: PinGuard | None = None
) -> OperatorOut:
    return (await operators_out(config, messages, [op], guard))[0]


def _operator_out(
    config: Config, op: OperatorView, current: list[tuple[MessageView, PlayStats]], now: datetime
) -> OperatorOut:
    expired = op.expires_at is not None and op.expires_at <= now
    playing = (
        op.enabled
        and op.message_enabled
        and not expired
        and any(m.status == op.active_status for m, _ in current)
    )
    return OperatorOut(
        extension=op.extension,
        name=op.name,
        has_pin=op.has_pin,
        enabled=op.enabled,
        active_status=op.active_status,
        active_status_key=status_key(config, op.active_status),
        message_enabled=op.message_enabled,
        expires_at=op.expires_at,
        expired=expired,
        playing=playing,
        updated_at=op.updated_at,
        messages=[_message_out(config, m, stats) for m, stats in current],
    )


def audit_out(entry: AuditEntry) -> AuditOut:
    return AuditOut(**entry.__dict__)
