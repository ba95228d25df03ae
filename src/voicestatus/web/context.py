"""Everything the web layer needs from the service, handed over in one object.

``app.py`` builds it; the routers only read it, so the web layer never
constructs services itself and tests can build it around a real database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from voicestatus.config import Config
from voicestatus.metrics import Metrics
from voicestatus.services.accounts import AccountService
from voicestatus.services.audit import AuditService
from voicestatus.services.messages import MessageService
from voicestatus.services.operators import OperatorService
from voicestatus.services.pin_guard import PinGuard
from voicestatus.storage.database import Database
from voicestatus.storage.media import MediaStore
from voicestatus.web.auth import Authenticator, LoginLimiter, Proxies
from voicestatus.web.page_cache import PageCache

HealthProbe = Callable[[], dict[str, Any]]


@dataclass
class WebContext:
    config: Config
    db: Database
    operators: OperatorService
    messages: MessageService
    audit: AuditService
    accounts: AccountService
    metrics: Metrics
    media: MediaStore
    health: HealthProbe
    pin_guard: PinGuard
    auth: Authenticator = field(init=False)
    limiter: LoginLimiter = field(init=False)
    pages: PageCache = field(init=False)

    def __post_init__(self) -> None:
        http = self.config.http
        self.auth = Authenticator(self.accounts, Proxies(http.trusted_proxies))
        self.limiter = LoginLimiter(http.login_attempts, http.login_window_seconds)
        # app.py subscribes it to the service's changes (see services/changes.py).
        self.pages = PageCache(http.list_cache_seconds)

    async def health_report(self) -> dict[str, Any]:
        """The health panel: ARI, database and media store, each with ok and a detail."""
        report = self.health()
        ari = report.get("ari", {})
        checks: dict[str, Any] = {
            "ari": {"ok": ari.get("state") == "connected", "detail": str(ari.get("state", "unknown"))}
        }
        try:
            await self.db.ping()
            checks["database"] = {"ok": True, "detail": self.db.dialect}
        except Exception as exc:
            checks["database"] = {"ok": False, "detail": type(exc).__name__}
        try:
            await asyncio.to_thread(self.media.check_writable)
            checks["media"] = {"ok": True, "detail": "writable"}
        except Exception as exc:
            checks["media"] = {"ok": False, "detail": getattr(exc, "message", type(exc).__name__)}
        checks["calls"] = report.get("calls", 0)
        return checks
