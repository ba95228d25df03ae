"""``/api/v1``: operators, their on/off switch, the audit log, the status catalogue.

Thin over the services: validate, check who may do it, call the
service, convert. Messages themselves live in :mod:`voicestatus.web.api_messages`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from voicestatus.errors import InvalidInput
from voicestatus.services.extensions import EXTENSION_PATTERN
from voicestatus.services.operators import UNSET, OperatorView, UnknownOperator
from voicestatus.web.auth import Principal, bearer_scheme
from voicestatus.web.context import WebContext
from voicestatus.web.errors import ERROR_RESPONSES, ErrorOut, UnsupportedMediaType
from voicestatus.web.schemas import (
    AuditPage,
    MeOut,
    OperatorOut,
    OperatorPage,
    OperatorPatch,
    OperatorState,
    StatusOut,
    StorableDatetime,
    SwitchOut,
    audit_out,
    operator_out,
    operators_out,
    resolve_status,
)

Extension = Annotated[str, Path(pattern=f"^{EXTENSION_PATTERN}$", description="The operator's extension")]


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The caller of an API endpoint (see :class:`voicestatus.web.auth.Authenticator`)."""
    ctx: WebContext = request.app.state.web
    return await ctx.auth.api(request, credentials)


Auth = Annotated[Principal, Depends(current_principal)]


async def patch_body(request: Request, _who: Auth) -> OperatorPatch:
    """The JSON body of a PATCH, read only once the caller is authenticated.

    A body parameter would be read and parsed by FastAPI before any
    dependency runs, i.e. before we know who is asking; as a dependency of
    :data:`Auth` a stranger's body is never read (and every body is capped by
    :class:`voicestatus.web.app.LimitBodies` anyway).
    """
    content_type = request.headers.get("content-type")
    if content_type is not None and not _is_utf8_json(content_type):
        raise UnsupportedMediaType(
            "Send the changes as JSON (Content-Type: application/json, UTF-8).",
            details={"content_type": content_type[:100]},
        )
    try:
        body = await request.body()
    except ClientDisconnect:  # the client went away (or LimitBodies cut it off): nothing to answer
        raise InvalidInput("The request body did not arrive in full.") from None
    try:
        return OperatorPatch.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None


def _is_utf8_json(content_type: str) -> bool:
    """``application/json`` or ``application/*+json``, in UTF-8 (JSON's only charset, RFC 8259)."""
    kind, _, params = content_type.partition(";")
    kind = kind.strip().lower()
    if not (kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))):
        return False
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


_PATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": OperatorPatch.model_json_schema()}},
    }
}


async def load_operator(ctx: WebContext, who: Principal, ext: str) -> OperatorView:
    """The operator ``ext`` if ``who`` may see it; 403 for others' data, 404 for non-operators."""
    who.require_access(ext)
    view = await ctx.operators.get(ext)
    if view is None:
        raise UnknownOperator(f"{ext} is not an operator extension", details={"extension": ext})
    return view


def api_router(ctx: WebContext) -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
    cfg = ctx.config

    @router.get("/me", tags=["auth"])
    async def me(who: Auth) -> MeOut:
        return MeOut(kind=who.kind, name=who.name, extension=who.extension, csrf_token=who.csrf_token)

    @router.get("/statuses", tags=["operators"])
    async def statuses(_who: Auth) -> list[StatusOut]:
        return [StatusOut(digit=s.digit, key=s.key, names=dict(s.names)) for s in cfg.statuses]

    @router.get("/operators", tags=["operators"], response_model=OperatorPage)
    async def list_operators(
        who: Auth,
        search: Annotated[str | None, Query(max_length=100)] = None,
        state: OperatorState | None = None,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Response:
        """Operators with a record, in numeric order. Operators see only themselves."""

        async def build() -> bytes:
            if who.extension is not None:
                own = await ctx.operators.get(who.extension)
                views = [own] if own is not None and offset == 0 else []
                total = 1 if own is not None else 0
            else:
                views, total = await ctx.operators.list(
                    search=search, state=state, offset=offset, limit=limit
                )
            items = await operators_out(cfg, ctx.messages, views, ctx.pin_guard)
            page = OperatorPage(items=items, total=total, offset=offset, limit=limit)
            return page.model_dump_json().encode()

        key = (who.extension, search, state, offset, limit)
        body = await ctx.pages.get(key, build)
        return Response(content=body, media_type="application/json")

    @router.get("/operators/{ext}", tags=["operators"])
    async def get_operator(who: Auth, ext: Extension) -> OperatorOut:
        return await operator_out(cfg, ctx.messages, await load_operator(ctx, who, ext), ctx.pin_guard)

    @router.patch(
        "/operators/{ext}",
        tags=["operators"],
        openapi_extra=_PATCH_BODY,
        responses={415: {"model": ErrorOut, "description": "The body is not UTF-8 JSON"}},
    )
    async def patch_operator(
        who: Auth, ext: Extension, patch: Annotated[OperatorPatch, Depends(patch_body)]
    ) -> OperatorOut:
        """Change name, PIN, enabled (admins only), active status (digit or key), on/off and expiry."""
        await load_operator(ctx, who, ext)
        given = patch.model_fields_set
        ctx.operators.check_change(who.actor, ext, given)
        status = UNSET if "active_status" not in given else patch.active_status
        digit = None if status is None or status is UNSET else resolve_status(cfg, status).digit
        await ctx.operators.update(
            ext,
            name=patch.name if "name" in given else UNSET,
            enabled=patch.enabled if "enabled" in given else UNSET,
            active_status=UNSET if status is UNSET else digit,
            expires_at=patch.expires_at if "expires_at" in given else UNSET,
            actor=who.actor,
        )
        if "pin" in given:
            await ctx.operators.set_pin(ext, patch.pin, actor=who.actor)
        if "message_enabled" in given and patch.message_enabled is not None:
            await ctx.messages.set_enabled(ext, patch.message_enabled, actor=who.actor)
        return await operator_out(cfg, ctx.messages, await load_operator(ctx, who, ext), ctx.pin_guard)

    @router.delete("/operators/{ext}/pin-lock", tags=["operators"], status_code=204)
    async def clear_pin_lock(who: Auth, ext: Extension) -> Response:
        """Admins: end a PIN lock-out now and forget the wrong-PIN count (audited ``pin-unlocked``)."""
        who.require_admin()
        await load_operator(ctx, who, ext)
        await ctx.pin_guard.unlock(ext, actor=who.actor)
        return Response(status_code=204)

    async def switch(who: Principal, ext: str, on: bool) -> SwitchOut:
        await load_operator(ctx, who, ext)
        state = await ctx.messages.set_enabled(ext, on, actor=who.actor)
        return SwitchOut(extension=ext, message_enabled=state)

    @router.post("/operators/{ext}/on", tags=["operators"])
    async def switch_on(who: Auth, ext: Extension) -> SwitchOut:
        """Let callers hear the active message again (without re-recording it)."""
        return await switch(who, ext, True)

    @router.post("/operators/{ext}/off", tags=["operators"])
    async def switch_off(who: Auth, ext: Extension) -> SwitchOut:
        """Stop playing the message to callers without deleting it."""
        return await switch(who, ext, False)

    @router.get("/audit", tags=["audit"])
    async def audit(
        who: Auth,
        extension: Annotated[str | None, Query(pattern=f"^{EXTENSION_PATTERN}$")] = None,
        actor: Annotated[str | None, Query(max_length=200)] = None,
        action: Annotated[str | None, Query(max_length=64)] = None,
        since: StorableDatetime | None = None,
        until: StorableDatetime | None = None,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> AuditPage:
        """Changes, newest first. ``actor`` is ``kind:name`` or a kind; ``until`` is exclusive."""
        if who.extension is not None:
            if extension not in (None, who.extension):
                who.require_access(extension or "")
            extension = who.extension
        entries, total = await ctx.audit.list(
            extension=extension, actor=actor, action=action, since=since, until=until,
            offset=offset, limit=limit,
        )  # fmt: skip
        return AuditPage(items=[audit_out(e) for e in entries], total=total, offset=offset, limit=limit)

    @router.get("/health", tags=["health"])
    async def health(_who: Auth) -> dict[str, Any]:
        """ARI connection, database and media store, each with ``ok`` and a detail."""
        return await ctx.health_report()

    return router
