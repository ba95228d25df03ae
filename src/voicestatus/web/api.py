"""``/api/v1``: operators, their on/off switch, the audit log, the status catalogue.

Thin over the services (STYLE.md): validate, check who may do it, call the
service, convert. Messages themselves live in :mod:`voicestatus.web.api_messages`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import AwareDatetime

from voicestatus.services.operators import UNSET, OperatorView, UnknownOperator
from voicestatus.web.auth import Principal, bearer_scheme
from voicestatus.web.context import WebContext
from voicestatus.web.errors import ERROR_RESPONSES
from voicestatus.web.schemas import (
    AuditPage,
    MeOut,
    OperatorOut,
    OperatorPage,
    OperatorPatch,
    OperatorState,
    StatusOut,
    SwitchOut,
    audit_out,
    operator_out,
    operators_out,
    resolve_status,
)

Extension = Annotated[str, Path(pattern=r"^[0-9]{1,20}$", description="The operator's extension")]


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The caller of an API endpoint (see :class:`voicestatus.web.auth.Authenticator`)."""
    ctx: WebContext = request.app.state.web
    return await ctx.auth.api(request, credentials)


Auth = Annotated[Principal, Depends(current_principal)]


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
            items = await operators_out(cfg, ctx.messages, views)
            page = OperatorPage(items=items, total=total, offset=offset, limit=limit)
            return page.model_dump_json().encode()

        key = (who.extension, search, state, offset, limit)
        body = await ctx.pages.get(key, build)
        return Response(content=body, media_type="application/json")

    @router.get("/operators/{ext}", tags=["operators"])
    async def get_operator(who: Auth, ext: Extension) -> OperatorOut:
        return await operator_out(cfg, ctx.messages, await load_operator(ctx, who, ext))

    @router.patch("/operators/{ext}", tags=["operators"])
    async def patch_operator(who: Auth, ext: Extension, patch: OperatorPatch) -> OperatorOut:
        """Change name, PIN, enabled, active status (digit or key), on/off and expiry."""
        await load_operator(ctx, who, ext)
        given = patch.model_fields_set
        if "enabled" in given and not who.is_admin:
            who.require_admin()
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
            await ctx.desk.set_enabled(ext, patch.message_enabled, actor=who.actor)
        else:
            await ctx.desk.notify(ext)
        return await operator_out(cfg, ctx.messages, await load_operator(ctx, who, ext))

    async def switch(who: Principal, ext: str, on: bool) -> SwitchOut:
        await load_operator(ctx, who, ext)
        return SwitchOut(extension=ext, message_enabled=await ctx.desk.set_enabled(ext, on, actor=who.actor))

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
        extension: Annotated[str | None, Query(pattern=r"^[0-9]{1,20}$")] = None,
        actor: Annotated[str | None, Query(max_length=200)] = None,
        action: Annotated[str | None, Query(max_length=64)] = None,
        since: AwareDatetime | None = None,
        until: AwareDatetime | None = None,
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
