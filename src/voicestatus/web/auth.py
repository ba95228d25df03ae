"""Who is making a request: an admin (session or bearer token) or an operator (session).

Browsers authenticate with the ``vs_session`` cookie (HttpOnly, SameSite=Lax,
Secure behind TLS); a cookie alone never authorises a change, the request
must also carry the session's CSRF token (``X-CSRF-Token`` header or the
``csrf_token`` form field), so another site cannot act with a user's cookie.
Scripts use ``Authorization: Bearer <token>``, which a browser never sends on
its own, so bearer requests need no CSRF token. Logins are limited per client
address and, with a much higher ceiling, per account (see :class:`LoginLimiter`).
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NoReturn

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


ACCOUNT_FACTOR = 10
"""The per-account ceiling is this many times ``[http] login_attempts`` (see :class:`LoginLimiter`)."""
MAX_BACKOFF_FACTOR = 16
"""An address's lock-out doubles with each repeat, up to this many windows."""
MAX_KEYS = 100_000
"""Addresses and accounts remembered at most; past it the least recently seen are forgotten."""


def address_key(address: str) -> str:
    """The limiter's key for a client address: IPv6 by /64, since one host owns a whole /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"ip:{address[:64]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"ip:{ip.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((ip, 64), strict=False)}"
    return f"ip:{ip}"


@dataclass
class _Count:
    """One key's failures in the window (oldest first) and its attempts being checked right now."""

    failures: deque[float]
    in_flight: int = 0
    strikes: int = 0
    blocked_until: float = 0.0


class LoginLimiter:
    """Limits password and PIN guessing without letting a stranger lock anyone out.

    Two counts of failed logins, both over a sliding window of
    ``[http] login_window_seconds``:

    * **Per client address** (IPv6 by /64): at most ``login_attempts`` failed
      logins, for any accounts, then that address alone is locked out (429
      with ``retry_after``) for ``login_window_seconds``, twice as long at each
      further lock-out (up to ``MAX_BACKOFF_FACTOR`` windows; forgiven after a
      quiet window). This is the limit an attacker meets, and it gets steeper
      the longer they try; the supervisor at another address is not affected.
    * **Per account**: a much higher ceiling, ``ACCOUNT_FACTOR`` times
      ``login_attempts``, over all addresses together. One address can never
      reach it (it is stopped at ``login_attempts``), so a single stranger
      cannot lock an account; it only bites an attacker spread over many
      addresses, and then still caps guesses against one account (by
      default 100 per 5 minutes, hopeless against an admin password;
      operator PINs are short, so the per-extension PIN lock-out slows
      those far more). The cost, which any account-wide ceiling has: a
      crowd of addresses can still hold one account back for a window.

    An attempt counts **before** its secret is checked: :meth:`reserve` takes a
    slot (an in-flight count per key) synchronously, so a burst of concurrent
    logins cannot all pass the check while the slow argon2 verifications are
    still running; at most the limit are ever evaluated. The slot becomes a
    failure unless the login succeeds (also if the request dies on the way).
    A success forgets the account's failures, never the address's (otherwise
    logging into one's own account would reset the guessing budget).

    Memory is bounded: at most ``max_keys`` keys are kept and the least
    recently used are evicted one by one; nothing is ever cleared wholesale,
    so a spray of new addresses only pushes out the keys seen longest ago,
    never the counts of whoever is guessing right now.
    """

    def __init__(
        self,
        attempts: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        account_factor: int = ACCOUNT_FACTOR,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.attempts = attempts
        self.window = window
        self.account_attempts = attempts * account_factor
        self.max_keys = max_keys
        self._clock = clock
        self._counts: OrderedDict[str, _Count] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counts)

    def __contains__(self, key: str) -> bool:
        return key in self._counts

    def _get(self, key: str, limit: int, now: float) -> _Count:
        count = self._counts.get(key)
        if count is None:
            count = self._counts[key] = _Count(deque(maxlen=limit))
        else:
            self._counts.move_to_end(key)
        while count.failures and count.failures[0] <= now - self.window:
            count.failures.popleft()
        return count

    def _evict(self) -> None:
        while len(self._counts) > self.max_keys:
            self._counts.popitem(last=False)

    def reserve(self, address: str, account: str) -> LoginAttempt:
        """A slot for one login attempt, taken before its secret is checked; 429 when none is left."""
        now = self._clock()
        keys = [(address_key(address), self.attempts), (f"account:{account[:80]}", self.account_attempts)]
        for key, limit in keys:
            count = self._counts.get(key)
            if count is None:
                continue
            while count.failures and count.failures[0] <= now - self.window:
                count.failures.popleft()
            if count.blocked_until > now:
                self._refuse(count.blocked_until - now)
            if count.strikes and not count.failures and now >= count.blocked_until + self.window:
                count.strikes = 0  # a quiet window after the last lock-out: forgiven
            if len(count.failures) + count.in_flight >= limit:
                oldest = count.failures[0] if count.failures else now
                self._refuse(oldest + self.window - now)
        for key, limit in keys:
            self._get(key, limit, now).in_flight += 1
        self._evict()
        return LoginAttempt(self, keys)

    @staticmethod
    def _refuse(seconds: float) -> NoReturn:
        raise TooManyAttempts(
            "Too many failed logins. Wait a few minutes and try again.",
            details={"retry_after": max(1, math.ceil(seconds))},
        )

    def _release(self, keys: list[tuple[str, int]], failed: bool) -> None:
        now = self._clock()
        for index, (key, limit) in enumerate(keys):
            count = self._get(key, limit, now)
            count.in_flight = max(0, count.in_flight - 1)
            if failed:
                count.failures.append(now)
                if index == 0 and len(count.failures) >= limit:
                    # The address used up its attempts: locked out, twice as long each time.
                    count.strikes += 1
                    backoff = min(2 ** (count.strikes - 1), MAX_BACKOFF_FACTOR)
                    count.blocked_until = now + self.window * backoff
                    count.failures.clear()
            elif index == 1:
                count.failures.clear()
            if not count.failures and not count.in_flight and not count.strikes:
                del self._counts[key]
        self._evict()


class LoginAttempt:
    """One reserved login attempt; report how it ended with :meth:`failed` or :meth:`succeeded`.

    As a context manager, an attempt not reported by the end (an exception,
    a cancelled request) counts as failed.
    """

    def __init__(self, limiter: LoginLimiter, keys: list[tuple[str, int]]) -> None:
        self._limiter = limiter
        self._keys = keys
        self._open = True

    def failed(self) -> None:
        if self._open:
            self._open = False
            self._limiter._release(self._keys, failed=True)

    def succeeded(self) -> None:
        if self._open:
            self._open = False
            self._limiter._release(self._keys, failed=False)

    def __enter__(self) -> LoginAttempt:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.failed()


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
