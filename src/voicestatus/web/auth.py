"""Who is making a request: an admin (session or bearer token) or an operator (session).

Browsers authenticate with the ``vs_session`` cookie (HttpOnly, SameSite=Lax,
Secure behind TLS); a cookie alone never authorises a change, the request
must also carry the session's CSRF token (``X-CSRF-Token`` header or the
``csrf_token`` form field), so another site cannot act with a user's cookie.
Scripts use ``Authorization: Bearer <token>``, which a browser never sends on
its own, so bearer requests need no CSRF token. Failed logins are counted per
client address and per account, and refused with 429 once over the limit.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from fastapi import Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from voicestatus.services.accounts import AccountService, SessionView
from voicestatus.services.audit import Actor
from voicestatus.web.errors import CsrfFailed, Forbidden, TooManyAttempts, Unauthorized

SESSION_COOKIE = "vs_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(auto_error=False, description="An API token from `voicestatus admin token`.")


@dataclass(frozen=True)
class Principal:
    """The authenticated user of one request."""

    kind: Literal["admin", "token", "operator"]
    name: str
    csrf_token: str | None = None
    token_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind != "operator"

    @property
    def extension(self) -> str | None:
        return self.name if self.kind == "operator" else None

    @property
    def actor(self) -> Actor:
        if self.kind == "token":
            return Actor("token", f"{self.name}#{self.token_id}")
        return Actor(self.kind, self.name)

    def can_access(self, extension: str) -> bool:
        return self.is_admin or self.name == extension

    def require_access(self, extension: str) -> None:
        if not self.can_access(extension):
            raise Forbidden("Operators can only see and change their own messages.")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("Only an administrator can do this.")


def principal_from_session(view: SessionView) -> Principal:
    if view.admin is not None:
        return Principal("admin", view.admin.username, csrf_token=view.csrf_token)
    assert view.operator is not None
    return Principal("operator", view.operator, csrf_token=view.csrf_token)


class Proxies:
    """Which peers are trusted reverse proxies (``[http] trusted_proxies``)."""

    def __init__(self, spec: str) -> None:
        self._nets = [ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip()]

    def _trusted(self, request: Request) -> bool:
        host = request.client.host if request.client else ""
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(addr in net for net in self._nets)

    def client_address(self, request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded and self._trusted(request):
            return forwarded.split(",")[-1].strip()[:64] or peer
        return peer

    def is_https(self, request: Request) -> bool:
        if request.url.scheme == "https":
            return True
        proto = request.headers.get("x-forwarded-proto", "")
        return proto.split(",")[0].strip().lower() == "https" and self._trusted(request)


class LoginLimiter:
    """Counts failed logins per key (address, account) in a sliding window."""

    def __init__(self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.attempts = attempts
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures

    def check(self, keys: Iterable[str]) -> None:
        for key in keys:
            recent = self._recent(key)
            if len(recent) >= self.attempts:
                retry = max(1, int(recent[0] + self.window - self._clock()) + 1)
                raise TooManyAttempts(
                    "Too many failed logins. Wait a few minutes and try again.",
                    details={"retry_after": retry},
                )

    def failed(self, keys: Iterable[str]) -> None:
        now = self._clock()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 100_000:  # bounded memory under a spray of addresses
            self._failures.clear()

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


class Authenticator:
    """Resolves the principal of a request from its bearer token or session cookie."""

    def __init__(self, accounts: AccountService, proxies: Proxies) -> None:
        self.accounts = accounts
        self.proxies = proxies

    async def optional(self, request: Request, bearer: str | None = None) -> Principal | None:
        if bearer is not None:
            found = await self.accounts.verify_token(bearer)
            if found is None:
                raise Unauthorized("The API token is not valid (unknown or revoked).")
            admin, token_id = found
            return Principal("token", admin.username, token_id=token_id)
        session_id = request.cookies.get(SESSION_COOKIE)
        if not session_id:
            return None
        view = await self.accounts.get_session(session_id)
        return principal_from_session(view) if view is not None else None

    async def api(self, request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
        """The principal for an API call; session calls that change something need the CSRF token."""
        principal = await self.optional(request, credentials.credentials if credentials else None)
        if principal is None:
            raise Unauthorized("Log in, or send an API token as 'Authorization: Bearer <token>'.")
        if principal.csrf_token is not None and request.method not in SAFE_METHODS:
            check_csrf(principal, request.headers.get(CSRF_HEADER))
        return principal

    def set_session_cookie(self, request: Request, response: Response, session_id: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            session_id,
            max_age=int(self.accounts.session_ttl.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=self.proxies.is_https(request),
            path="/",
        )


def check_csrf(principal: Principal, supplied: str | None) -> None:
    expected = principal.csrf_token
    if expected is None:
        return
    if not supplied or not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise CsrfFailed("The form is out of date or was not sent by this site; reload the page.")
