"""The UI's form posts: on/off, delete, restore, expiry and operator settings.

Each form carries the session's CSRF token and answers with a redirect back
to the operator's page (post/redirect/get), naming what was done or the
``error_id`` of what was refused, so reloading never repeats a change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from voicestatus.errors import InvalidInput, VoiceStatusError
from voicestatus.services.operators import UNSET
from voicestatus.web.auth import Principal, check_csrf
from voicestatus.web.context import WebContext
from voicestatus.web.schemas import resolve_status


def local_to_utc(local: str, offset_minutes: str) -> datetime | None:
    """A ``datetime-local`` value plus the browser's ``getTimezoneOffset()`` as UTC; '' is none."""
    if not local:
        return None
    try:
        naive = datetime.fromisoformat(local)
        # ASCII digits only: int() would also read Arabic-Indic or fullwidth ones.
        offset = int(offset_minutes or "0") if (offset_minutes or "0").isascii() else 901
        when = (naive + timedelta(minutes=offset)).replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidInput("The expiry date is not valid.") from None
    if naive.tzinfo is not None or not -900 <= offset <= 900 or not 1970 <= when.year <= 9998:
        raise InvalidInput("The expiry date is not valid.")
    return when


async def _apply(ctx: WebContext, who: Principal, ext: str, form: dict[str, str]) -> str:
    action = form.get("action", "")
    actor = who.actor
    if action in ("on", "off"):
        await ctx.messages.set_enabled(ext, action == "on", actor=actor)
    elif action in ("delete", "restore"):
        status = resolve_status(ctx.config, form.get("status", "")).digit
        if action == "delete":
            await ctx.messages.delete(ext, status, actor=actor)
        else:
            await ctx.messages.restore(ext, status, actor=actor)
    elif action == "expiry":
        when = (
            None if "clear" in form else local_to_utc(form.get("expires_at", ""), form.get("tz_offset", ""))
        )
        await ctx.operators.update(ext, expires_at=when, actor=actor)
    elif action == "settings":
        chosen = form.get("active_status", "")
        digit = resolve_status(ctx.config, chosen).digit if chosen else None
        # The form shows name and enabled only to admins (``admin_fields`` marks them,
        # as an unticked checkbox is not sent); whether the change is allowed is
        # the service's decision, the same as for the API and the CLI.
        admin_form = "admin_fields" in form
        new_pin = form.get("pin") or None
        change_pin = new_pin is not None or "clear_pin" in form
        fields = [
            "active_status",
            *(["name", "enabled"] if admin_form else []),
            *(["pin"] if change_pin else []),
        ]
        ctx.operators.check_change(actor, ext, fields)
        await ctx.operators.update(
            ext,
            name=form.get("name", "") if admin_form else UNSET,
            enabled="enabled" in form if admin_form else UNSET,
            active_status=digit,
            actor=actor,
        )
        if change_pin:
            await ctx.operators.set_pin(ext, new_pin, actor=actor)
    elif action == "unlock_pin":  # admins end a PIN lock-out (services/pin_guard.py)
        who.require_admin()
        await ctx.pin_guard.unlock(ext, actor=actor)
    else:
        raise InvalidInput("Unknown action.")
    return action


def add_action_routes(router: APIRouter, ctx: WebContext) -> None:
    @router.post("/operators/{ext}/action")
    async def operator_action(request: Request, ext: str) -> Response:
        who = await ctx.auth.optional(request)
        if who is None:
            return RedirectResponse("/login", status_code=303)
        raw = await request.form(max_files=0, max_fields=20)
        form = {k: str(v)[:200] for k, v in raw.items() if isinstance(v, str)}
        check_csrf(who, form.get("csrf_token"))
        who.require_access(ext)
        try:
            if await ctx.operators.get(ext) is None:
                raise InvalidInput("Not an operator extension.")
            query = {"done": await _apply(ctx, who, ext, form)}
        except VoiceStatusError as exc:
            if exc.status_code >= 500:
                raise
            query = {"error": exc.error_id}
        return RedirectResponse(f"/operators/{ext}?{urlencode(query)}", status_code=303)
