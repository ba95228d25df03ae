"""``GET /api/v1/operators`` under concurrent clients, timed at the client.

The admin page and scripts page through the operator list; with 10,000
operators each request must still come back quickly while others are in
flight, so ``clients`` requests are kept in flight until ``requests`` are done.

The generator shares the machine with the service, so it must stay light or
the latencies measure its own queueing instead of the service's. A general
HTTP client costs about three times the service's CPU per request here (its
pool re-checks every idle connection on each request), so each client is one
plain keep-alive HTTP/1.1 connection that sends the request and reads the
``Content-Length`` body. A request is timed from just before it is written to
the last byte of the body; every answer must be a 200 carrying the full first
page, and the generator's own CPU per request is reported next to the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from voicestatus_dev.bench.stats import percentile

PATH = "/api/v1/operators"


class BadResponse(Exception):
    """An answer that is not a well-formed HTTP/1.1 response with a length."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


class Connection:
    """One keep-alive HTTP/1.1 connection that sends the same GET again and again."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> None:
        self._reader = reader
        self._writer = writer
        self._request = request

    @classmethod
    async def open(cls, url: str, token: str, path: str = PATH) -> Connection:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"the API benchmark needs a plain http:// URL, not {url!r}")
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
        ).encode()
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        return cls(reader, writer, request)

    async def get(self) -> Reply:
        self._writer.write(self._request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        if version != "HTTP/1.1":
            raise BadResponse(f"not an HTTP/1.1 status line: {status_line!r}")
        length: int | None = None
        closing = False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection":
                closing = value.strip().lower() == "close"
        if length is None:
            raise BadResponse("the response has no Content-Length")
        body = await self._reader.readexactly(length)
        if closing:
            raise BadResponse("the server closed the keep-alive connection")
        return Reply(int(rest[:3]), body)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


def full_page(body: bytes, total: object, size: int) -> bool:
    """Whether ``body`` is an operator-list page with ``size`` items out of ``total``."""
    try:
        page = json.loads(body)
    except ValueError:
        return False
    return isinstance(page, dict) and page.get("total") == total and len(page.get("items") or []) == size


async def run_api_bench(url: str, token: str, *, clients: int = 20, requests: int = 400) -> dict[str, object]:
    connections = [await Connection.open(url, token) for _ in range(clients)]
    try:
        first = await connections[0].get()
        if first.status != 200:
            raise RuntimeError(f"GET {PATH} answered {first.status}: {first.body[:200]!r}")
        page = json.loads(first.body)
        total, size = page.get("total"), len(page.get("items", []))
        reference = first.body
        single: list[float] = []
        for _ in range(10):
            start = time.perf_counter()
            reply = await connections[0].get()
            single.append((time.perf_counter() - start) * 1000.0)
            if reply.status != 200:
                raise RuntimeError(f"GET {PATH} answered {reply.status}")

        latencies: list[float] = []
        errors = 0
        remaining = requests

        async def worker(index: int) -> None:
            nonlocal remaining, errors, reference
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                try:
                    reply = await connections[index].get()
                except (
                    OSError,
                    asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError,
                    BadResponse,
                    ValueError,
                ):
                    errors += 1
                    await connections[index].close()
                    connections[index] = await Connection.open(url, token)
                    continue
                latencies.append((time.perf_counter() - start) * 1000.0)
                if reply.status != 200:
                    errors += 1
                elif reply.body != reference:
                    if full_page(reply.body, total, size):
                        reference = reply.body
                    else:
                        errors += 1

        cpu_start = time.process_time()
        await asyncio.gather(*(worker(n) for n in range(clients)))
        cpu_ms = (time.process_time() - cpu_start) * 1000.0
    finally:
        for connection in connections:
            await connection.close()
    return {
        "operators_total": total,
        "page_size": size,
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "one_client_p50_ms": percentile(single, 50),
        "generator_cpu_ms_per_request": cpu_ms / requests if requests else None,
    }
