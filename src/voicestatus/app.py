"""Wires the service together: ARI, flows, storage and the web server.

This is the only module that knows every part; everything else receives
what it needs. One asyncio loop runs all of it. Listeners of changes (the
mirror, the caches, the expiry watcher) are registered here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvloop

from voicestatus.ari.client import AriClient
from voicestatus.ari.events import ConnectionState, EventStream
from voicestatus.asterisk.astdb import AmiAstDb
from voicestatus.audio.process import ProcessingSettings
from voicestatus.config import Config
from voicestatus.flows.menu import MenuFlow
from voicestatus.flows.router import FLOW_EVENTS, Flow, StasisRouter
from voicestatus.flows.unavailable import UnavailableFlow
from voicestatus.heap import freeze_startup_heap
from voicestatus.metrics import Metrics
from voicestatus.services.accounts import AccountService
from voicestatus.services.audit import AuditService
from voicestatus.services.changes import ChangeFeed, ChangeNotifier
from voicestatus.services.expiry import ExpiryWatcher
from voicestatus.services.extensions import ExtensionPattern
from voicestatus.services.housekeeping import MediaHousekeeper
from voicestatus.services.messages import MessageService
from voicestatus.services.mirror import MessageMirror
from voicestatus.services.operators import OperatorService
from voicestatus.services.pin_guard import PinGuard
from voicestatus.services.playable_cache import PlayableCache
from voicestatus.storage.database import Database
from voicestatus.storage.media import MediaStore
from voicestatus.web.app import WebContext, create_web_app
from voicestatus.web.media import media_url
from voicestatus.web.server import WebServer

log = logging.getLogger(__name__)


class Service:
    """The running product: one Stasis app, its flows and the web server."""

    def __init__(self, config: Config, *, flows: Mapping[str, Flow] | None = None) -> None:
        self.config = config
        self.metrics = Metrics()
        pattern = ExtensionPattern.parse(config.operators.pattern)
        self.db = Database(config.database.url)
        # Every change to an operator or a message reaches these listeners, whichever
        # process made it: this one's services notify, the feed finds the others' (changes.py).
        self.changes = ChangeNotifier()
        self.change_feed = ChangeFeed(
            self.db, self.changes.notify, on_error=self.metrics.errors.labels(kind="changes").inc
        )
        self.audit = AuditService(self.db, on_recorded=self.change_feed.seen)
        self.operators = OperatorService(
            self.db, is_allowed=pattern.matches, audit=self.audit, changes=self.changes
        )
        self.media = MediaStore(Path(config.media.dir))
        self.messages = MessageService(
            self.db,
            self.operators,
            audit=self.audit,
            media=self.media,
            processing=ProcessingSettings.from_config(config),
            max_upload_seconds=config.media.max_upload_seconds,
        )
        self.pin_guard = PinGuard.from_config(self.db, self.audit, config, is_allowed=self.operators.allowed)
        self.playable = PlayableCache(self.messages, ttl=config.caller.message_cache_seconds)
        self.changes.subscribe(self.playable.invalidate)
        self.mirror = _mirror(config, self)
        if self.mirror is not None:
            self.changes.subscribe(self.mirror.on_change)
        self.expiry = ExpiryWatcher(
            self.db, self.changes.notify, on_error=self.metrics.errors.labels(kind="expiry").inc
        )
        self.changes.subscribe(self.expiry.on_change)
        self.housekeeper = MediaHousekeeper(
            self.db,
            self.media,
            history_days=config.media.history_days,
            orphan_hours=config.media.orphan_hours,
            audit=self.audit,
            metrics=self.metrics,
        )
        to_asterisk = functools.partial(media_url, base=config.http.public_url)
        all_flows: dict[str, Flow] = {
            "menu": MenuFlow(config, self.operators, self.messages, self.pin_guard, media_url=to_asterisk),
            "unavailable": UnavailableFlow(
                config,
                self.operators,
                self.metrics,
                playable=self.playable.playable,
                media_url=to_asterisk,
                count_play=self.messages.count_play,
            ),
        }
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
            wanted=self._wanted,
        )
        self.rest_sockets = _rest_sockets(config)
        self.ari.use_websocket(self.events, waiting=self.rest_sockets)
        self.accounts = AccountService(
            self.db, audit=self.audit, session_ttl=timedelta(hours=config.http.session_hours)
        )
        web_context = WebContext(
            config=config, db=self.db, operators=self.operators, messages=self.messages, audit=self.audit,
            accounts=self.accounts, metrics=self.metrics, media=self.media,
            health=self.health, pin_guard=self.pin_guard,
        )  # fmt: skip
        self.changes.subscribe(web_context.pages.on_change)
        self.web = WebServer(
            create_web_app(self.health, media=self.media, ctx=web_context), config.http.host, config.http.port
        )
        self._stopped = asyncio.Event()
        self._mirror_task: asyncio.Task[None] | None = None

    def _wanted(self, data: Mapping[str, Any]) -> bool:
        """Events worth parsing: new calls and what live sessions wait for.

        A channel's events after its session ended are dropped unparsed:
        parsing is a good part of the service's CPU per call.
        """
        if data.get("type") == "StasisStart":
            return True
        channel = data.get("channel")
        return not isinstance(channel, dict) or channel.get("id") in self.router.sessions

    async def _on_ari_connect(self) -> None:
        await self.ari.set_event_filter(self.config.ari.app, FLOW_EVENTS)

    def _on_flow_done(self, flow: str, outcome: str) -> None:
        self.metrics.calls.labels(flow=flow or "none", outcome=outcome).inc()
        if outcome == "error":
            self.metrics.errors.labels(kind="flow").inc()

    async def _resync_mirror(self) -> None:
        """Heal the co-located mirror after downtime; a failure is logged, not fatal."""
        assert self.mirror is not None
        try:
            await self.mirror.sync_all()
        except Exception:
            self.metrics.errors.labels(kind="mirror").inc()
            log.exception("co-located mirror re-sync failed")

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
        self.messages.plays.start()
        self.change_feed.start()
        await self.web.start()
        self.events.start()
        for stream in self.rest_sockets:
            stream.start()
        if self.mirror is not None:
            self._mirror_task = asyncio.create_task(self._resync_mirror(), name="mirror-resync")
        self.expiry.start()
        self.housekeeper.start()
        log.info(
            "voicestatus listening on http://%s (public %s)",
            self.config.http.listen,
            self.config.http.public_url,
        )

    async def stop(self) -> None:
        """Stop taking calls, let running ones finish briefly, then close everything."""
        await self.events.close()
        await self.router.drain(timeout=5)
        for stream in self.rest_sockets:
            await stream.close()
        await self.expiry.stop()
        await self.change_feed.stop()
        await self.housekeeper.stop()
        if self._mirror_task is not None:
            await asyncio.wait([self._mirror_task], timeout=5)
        await self.web.stop()
        await self.ari.aclose()
        await self.messages.plays.stop()
        await self.db.close()
        self._stopped.set()

    async def run_until_signalled(self, *, on_started: Callable[[], object] | None = None) -> None:
        """Run until SIGINT or SIGTERM, then shut down cleanly; ``on_started`` runs once up."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            if on_started is not None:
                on_started()
            await stop.wait()
            log.info("shutting down")
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(sig)
            await self.stop()


def run(config: Config) -> None:
    """Run the service until SIGINT/SIGTERM on uvloop, whose loop costs less CPU per call.

    libuv's loop cut the service's CPU per caller-path call by about a sixth
    against asyncio's own (measured with ``voicestatus bench``); uvicorn and
    everything else run inside it unchanged. Once started, the start-up heap
    is frozen out of the garbage collector's passes (see ``heap``).
    """
    uvloop.run(Service(config).run_until_signalled(on_started=freeze_startup_heap))


# Websockets for the ARI requests Asterisk runs in the channel's thread (see ari/transport.py).
REST_SOCKETS = 4


def _rest_sockets(config: Config) -> list[EventStream]:
    """Request-only sockets: each registers an app no dialplan uses, so no events arrive on them."""
    ari = config.ari
    return [
        EventStream(
            ari.url,
            ari.username,
            ari.password,
            [f"{ari.app}-rest-{n}"],
            lambda _event: None,
            min_delay=ari.reconnect_min_delay,
            max_delay=ari.reconnect_max_delay,
        )
        for n in range(1, REST_SOCKETS + 1)
    ]


def _mirror(config: Config, service: Service) -> MessageMirror | None:
    """The co-located mirror when ``[asterisk] sounds_dir`` is set."""
    ast = config.asterisk
    if not ast.sounds_dir:
        return None
    astdb = AmiAstDb(ast.ami_url, ast.ami_username, ast.ami_password) if ast.ami_username else None
    if astdb is None:
        log.warning("[asterisk] ami_username is empty: mirror files are written but AstDB keys are not")
    return MessageMirror(Path(ast.sounds_dir), service.media, service.messages, service.operators, astdb)
