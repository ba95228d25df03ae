"""Wires the service together: ARI, flows, storage and the web server.

This is the only module that knows every part; everything else receives
what it needs. One asyncio loop runs all of it (STYLE.md: app.py wires).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from voicestatus.ari.client import AriClient
from voicestatus.ari.events import ConnectionState, EventStream
from voicestatus.audio.process import ProcessingSettings
from voicestatus.config import Config
from voicestatus.flows.menu import MenuFlow
from voicestatus.metrics import Metrics
from voicestatus.flows.router import FLOW_EVENTS, Flow, StasisRouter
from voicestatus.services.audit import AuditService
from voicestatus.services.extensions import ExtensionPattern
from voicestatus.services.messages import MessageService
from voicestatus.services.operator_messages import OperatorMessages
from voicestatus.services.operators import OperatorService
from voicestatus.storage.database import Database
from voicestatus.storage.media import MediaStore
from voicestatus.web.app import create_web_app
from voicestatus.web.server import WebServer

log = logging.getLogger(__name__)


class Service:
    """The running product: one Stasis app, its flows and the web server."""

    def __init__(self, config: Config, *, flows: Mapping[str, Flow] | None = None) -> None:
        self.config = config
        self.metrics = Metrics()
        pattern = ExtensionPattern.parse(config.operators.pattern)
        self.db = Database(config.database.url)
        self.audit = AuditService(self.db)
        self.operators = OperatorService(self.db, is_allowed=pattern.matches, audit=self.audit)
        self.messages = MessageService(self.db, self.operators, audit=self.audit)
        self.media = MediaStore(Path(config.media.dir))
        self.desk = OperatorMessages(
            self.messages,
            self.media,
            ProcessingSettings.from_config(config),
            max_upload_seconds=config.media.max_upload_seconds,
        )
        all_flows: dict[str, Flow] = {"menu": MenuFlow(config, self.operators, self.desk)}
        all_flows.update(flows or {})
        self.ari = AriClient(
            config.ari.url,
            config.ari.username,
            config.ari.password,
            timeout=config.ari.request_timeout,
        )
        self.router = StasisRouter(self.ari, all_flows, on_flow_done=self._on_flow_done)
        self.events = EventStream(
            config.ari.url,
            config.ari.username,
            config.ari.password,
            [config.ari.app],
            self.router.handle,
            on_connect=self._on_ari_connect,
            on_state=self._on_ari_state,
            min_delay=config.ari.reconnect_min_delay,
            max_delay=config.ari.reconnect_max_delay,
        )
        self.web = WebServer(
            create_web_app(self.health, media=self.media), config.http.host, config.http.port
        )
        self._stopped = asyncio.Event()

    async def _on_ari_connect(self) -> None:
        await self.ari.set_event_filter(self.config.ari.app, FLOW_EVENTS)

    def _on_flow_done(self, flow: str, outcome: str) -> None:
        self.metrics.calls.labels(flow=flow or "none", outcome=outcome).inc()
        if outcome == "error":
            self.metrics.errors.labels(kind="flow").inc()

    def _on_ari_state(self, state: ConnectionState) -> None:
        self.metrics.ari_connected.set(1 if state is ConnectionState.CONNECTED else 0)
        level = logging.INFO if state is not ConnectionState.DISCONNECTED else logging.WARNING
        log.log(level, "ARI %s (%s)", state.value, self.config.ari.url)

    def health(self) -> dict[str, Any]:
        ari_ok = self.events.state is ConnectionState.CONNECTED
        return {
            "ok": ari_ok,
            "ari": {"state": self.events.state.value, "app": self.config.ari.app},
            "calls": len(self.router.sessions),
        }

    async def start(self) -> None:
        await self.db.migrate()
        await self.web.start()
        self.events.start()
        log.info(
            "voicestatus listening on http://%s (public %s)",
            self.config.http.listen,
            self.config.http.public_url,
        )

    async def stop(self) -> None:
        """Stop taking calls, let running ones finish briefly, then close everything."""
        await self.events.close()
        await self.router.drain(timeout=5)
        await self.web.stop()
        await self.ari.aclose()
        await self.db.close()
        self._stopped.set()

    async def run_until_signalled(self) -> None:
        """Run until SIGINT or SIGTERM, then shut down cleanly."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            await stop.wait()
            log.info("shutting down")
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(sig)
            await self.stop()
