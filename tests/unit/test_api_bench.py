"""The API benchmark's client: what it sends, what it counts, what it rejects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from voicestatus_dev.bench.api_bench import run_api_bench

PAGE = json.dumps({"items": [{"extension": str(100000 + n)} for n in range(100)], "total": 10001}).encode()

Answer = Callable[[int], tuple[int, bytes]]


class FakeApi:
    """A keep-alive HTTP/1.1 server; ``answer(n)`` gives the n-th request's status and body."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.connections = 0
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                status, body = self.answer(len(self.requests))
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def start_server(api: FakeApi) -> asyncio.Server:
    server = await asyncio.start_server(api.handle, "127.0.0.1", 0)
    api.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    return server


async def run(api: FakeApi, **kwargs: int) -> dict[str, object]:
    server = await start_server(api)
    try:
        return await run_api_bench(api.url, "secret", **kwargs)
    finally:
        server.close()
        await server.wait_closed()


async def test_every_client_keeps_one_connection_and_sends_the_token() -> None:
    api = FakeApi(lambda n: (200, PAGE))
    figures = await run(api, clients=5, requests=50)
    assert api.connections == 5
    assert len(api.requests) == 1 + 10 + 50
    assert all(b"Authorization: Bearer secret" in head for head in api.requests)
    assert all(head.startswith(b"GET /api/v1/operators HTTP/1.1\r\n") for head in api.requests)
    assert figures["requests"] == 50
    assert figures["errors"] == 0
    assert figures["operators_total"] == 10001
    assert figures["page_size"] == 100
    assert isinstance(figures["p95_ms"], float)
    assert isinstance(figures["generator_cpu_ms_per_request"], float)


async def test_failed_and_partial_pages_are_errors() -> None:
    short = json.dumps({"items": [], "total": 10001}).encode()

    def answer(n: int) -> tuple[int, bytes]:
        if n > 11 and n % 10 == 0:
            return 500, b'{"error": "boom"}'
        if n > 11 and n % 10 == 5:
            return 200, short
        return 200, PAGE

    figures = await run(FakeApi(answer), clients=4, requests=100)
    assert figures["requests"] == 100
    assert figures["errors"] == 20


async def test_a_first_answer_that_is_not_a_page_stops_the_run() -> None:
    with pytest.raises(RuntimeError, match="401"):
        await run(FakeApi(lambda n: (401, b'{"error": "no"}')))
