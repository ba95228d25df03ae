"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable

from voicestatus.app import Service
from voicestatus.config import Config
from voicestatus.flows.session import CallSession


async def wait_until(predicate: object, timeout: float = 10, what: str = "condition") -> None:
    """Bounded poll for a condition (tests never sleep blindly)."""
    assert callable(predicate)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def wait_until_blocking(predicate: Callable[[], bool], timeout: float = 15, what: str = "condition") -> None:
    """:func:`wait_until` for tests without an event loop (sandbox processes, ports)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@contextlib.asynccontextmanager
async def running(config: Config) -> AsyncIterator[Service]:
    """The whole service on ``config``, started and connected to Asterisk; stopped on exit.

    The one way tests run the service, so every test starts and stops it alike
    (and stops it even when it never connects).
    """
    svc = Service(config)
    await svc.start()
    try:
        await svc.events.wait_connected(15)
        yield svc
    finally:
        await svc.stop()


def only_session(service: Service) -> CallSession:
    sessions = list(service.router.sessions.values())
    assert len(sessions) == 1, f"expected one call in the service, found {len(sessions)}"
    return sessions[0]


async def wait_activity(service: Service, activity: str, timeout: float = 30) -> CallSession:
    """Wait until the service's single call is doing ``activity`` (e.g. "recording")."""
    try:
        await wait_until(
            lambda: len(service.router.sessions) == 1 and only_session(service).activity == activity,
            timeout,
            f"the call to reach {activity!r}",
        )
    except AssertionError as exc:
        state = [(s.activity, s.played[-3:]) for s in service.router.sessions.values()]
        raise AssertionError(f"{exc}; calls now: {state}") from None
    return only_session(service)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
