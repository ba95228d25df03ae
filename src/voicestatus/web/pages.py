"""The browser UI: server-rendered pages (Jinja2) with a little vanilla JavaScript.

Pages read through the same services as the API; uploads and browser
recordings are sent by ``static/app.js`` straight to the API with the session's
CSRF token, everything else is a plain form (works without JavaScript) handled
in :mod:`voicestatus.web.page_actions`. Every page sets a strict CSP: no
inline scripts or styles, nothing loaded from elsewhere.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from voicestatus.services.audit import Actor
from voicestatus.services.extensions import EXTENSION_PATTERN, is_valid_extension
from voicestatus.services.pin_guard import PinCheck
from voicestatus.services.pins import PIN_PATTERN
from voicestatus.web.auth import SESSION_COOKIE, Principal, check_csrf
from voicestatus.web.context import WebContext
from voicestatus.web.errors import TooManyAttempts
from voicestatus.web.i18n import LANG_COOKIE, LANGUAGES, pick_language, translator
from voicestatus.web.media import media_url
from voicestatus.web.page_actions import add_action_routes
from voicestatus.web.schemas import OperatorState, operator_out, operators_out

TEMPLATES = Path(__file__).with_name("templates")
LOGIN_COOKIE = "vs_login"
CSP = (
    "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
PAGE_SIZE = 50
MAX_PAGE_OFFSET = 1_000_000  # as the API allows; a bigger one overflows the database's integers


def safe_next(target: str | None) -> str:
    """Only local paths: an open redirect would let a link log users into a phishing page."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


class Renderer:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        self.templates.env.globals["pin_pattern"] = PIN_PATTERN  # the one PIN rule (services/pins.py)
        # The one extension rule (services/extensions.py)
        self.templates.env.globals["extension_pattern"] = EXTENSION_PATTERN
        self.templates.env.globals["media_url"] = media_url  # the one media address (web/media.py)

    def page(
        self, request: Request, name: str, who: Principal | None, status_code: int = 200, **values: Any
    ) -> HTMLResponse:
        lang = pick_language(request)
        t = translator(lang)
        context = {
            "t": t, "lang": lang, "languages": LANGUAGES, "who": who,
            "csrf": who.csrf_token if who else None, "statuses": self.ctx.config.statuses,
            "done": request.query_params.get("done"), "error_id": request.query_params.get("error"),
            **values,
        }  # fmt: skip
        response = self.templates.TemplateResponse(request, name, context, status_code=status_code)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "no-store"
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
        return response


def pages_router(ctx: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    render = Renderer(ctx)

    def to_login(request: Request) -> RedirectResponse:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @router.get("/login")
    async def login_page(request: Request, next: str = "/") -> Response:
        token = secrets.token_urlsafe(24)
        response = render.page(request, "login.html", None, login_csrf=token, next=safe_next(next))
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
        return response

    async def login(request: Request, operator: bool) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        nxt = safe_next(values.get("next"))
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not cookie or not secrets.compare_digest(cookie, values.get("csrf_token", "")):
            return RedirectResponse(f"/login?next={nxt}", status_code=303)
        address = ctx.auth.proxies.client_address(request)
        user = values.get("extension" if operator else "username", "")[:64]
        error = "login_failed_pin" if operator else "login_failed"
        try:
            # Counted before the (slow, awaited) check, so a burst cannot outrun the limit.
            attempt = ctx.limiter.reserve(address, f"{'op' if operator else 'admin'}:{user}")
        except TooManyAttempts as exc:
            refused = render.page(
                request, "login.html", None, 429, login_csrf=cookie, next=nxt, error="too_many"
            )
            refused.headers["Retry-After"] = str(exc.details["retry_after"])
            return refused
        with attempt:
            if operator:
                # The same wrong-PIN count and lock-out as the phone menu (services/pin_guard.py).
                checked = await ctx.pin_guard.operator_login(
                    ctx.operators, user, values.get("pin", ""),
                    source=f"web:{address}", actor=Actor("system", f"web-login {address}"),
                )  # fmt: skip
                if checked is PinCheck.LOCKED:
                    return render.page(request, "login.html", None, 429, login_csrf=cookie, next=nxt,
                                       error="pin_locked", operator_form=operator, user=user)  # fmt: skip
                ok = checked is PinCheck.OK
                session = await ctx.accounts.start_session(operator=user) if ok else None
            else:
                admin = await ctx.accounts.authenticate(user, values.get("password", ""))
                session = await ctx.accounts.start_session(admin=admin) if admin else None
            if session is None:
                attempt.failed()
                return render.page(request, "login.html", None, 401, login_csrf=cookie, next=nxt, error=error,
                                   operator_form=operator, user=user)  # fmt: skip
            attempt.succeeded()
        response = RedirectResponse(nxt, status_code=303)
        ctx.auth.set_session_cookie(request, response, session[0])
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @router.post("/login")
    async def login_admin(request: Request) -> Response:
        return await login(request, operator=False)

    @router.post("/login/operator")
    async def login_operator(request: Request) -> Response:
        return await login(request, operator=True)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        who = await ctx.auth.optional(request)
        if who is not None:
            form = await request.form(max_files=0, max_fields=5)
            check_csrf(who, str(form.get("csrf_token", "")))
            await ctx.accounts.end_session(request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @router.get("/")
    async def dashboard(request: Request, search: str = "", state: str = "", offset: int = 0) -> Response:
        who = await ctx.auth.optional(request)
        if who is None:
            return to_login(request)
        if who.extension is not None:
            return RedirectResponse(f"/operators/{who.extension}", status_code=303)
        chosen: OperatorState | None = state if state in ("active", "expired", "none") else None  # type: ignore[assignment]
        offset = min(max(0, offset), MAX_PAGE_OFFSET)
        views, total = await ctx.operators.list(
            search=search[:100] or None,
            state=chosen,
            offset=offset,
            limit=PAGE_SIZE,
        )
        rows = await operators_out(ctx.config, ctx.messages, views, ctx.pin_guard)
        return render.page(
            request, "dashboard.html", who, rows=rows, total=total, offset=offset, page_size=PAGE_SIZE,
            search=search[:100], state=chosen or "", health=await ctx.health_report(),
        )  # fmt: skip

    @router.get("/operators/")
    async def open_extension(ext: str = "") -> Response:
        target = f"/operators/{ext}" if is_valid_extension(ext) else "/"
        return RedirectResponse(target, status_code=303)

    @router.get("/operators/{ext}")
    async def operator_page(request: Request, ext: str) -> Response:
        who = await ctx.auth.optional(request)
        if who is None:
            return to_login(request)
        if not who.can_access(ext):
            return render.page(request, "error.html", who, 403, message="forbidden")
        view = await ctx.operators.get(ext)
        if view is None:
            return render.page(request, "error.html", who, 404, message="not_found")
        op = await operator_out(ctx.config, ctx.messages, view, ctx.pin_guard)
        by_status = {m.status: m for m in op.messages}
        can_restore = {
            s.digit: bool(await ctx.messages.history(ext, s.digit, limit=1)) for s in ctx.config.statuses
        }
        return render.page(
            request, "operator.html", who, op=op, by_status=by_status, can_restore=can_restore,
            max_upload_mb=ctx.config.media.max_upload_bytes // (1024 * 1024),
        )  # fmt: skip

    @router.get("/audit")
    async def audit_page(
        request: Request, extension: str = "", actor: str = "", action: str = "", offset: int = 0
    ) -> Response:
        who = await ctx.auth.optional(request)
        if who is None:
            return to_login(request)
        if who.extension is not None:
            extension = who.extension
        offset = min(max(0, offset), MAX_PAGE_OFFSET)
        entries, total = await ctx.audit.list(
            extension=extension[:20] or None, actor=actor[:200] or None, action=action[:64] or None,
            offset=offset, limit=PAGE_SIZE,
        )  # fmt: skip
        return render.page(
            request, "audit.html", who, entries=entries, total=total, offset=offset,
            page_size=PAGE_SIZE, extension=extension, actor=actor, action=action,
        )  # fmt: skip

    add_action_routes(router, ctx)
    return router
