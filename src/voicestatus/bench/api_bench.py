"""``GET /api/v1/operators`` under concurrent clients, timed at the client.

The admin page and scripts page through the operator list; with 10,000
operators each request must still come back quickly while others are in
flight, so ``clients`` requests are kept in flight until ``requests`` are done.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from voicestatus.bench.stats import percentile


async def run_api_bench(url: str, token: str, *, clients: int = 20, requests: int = 400) -> dict[str, object]:
    latencies: list[float] = []
    errors = 0
    remaining = requests
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30.0) as client:
        response = await client.get("/api/v1/operators")
        response.raise_for_status()
        page = response.json()
        single: list[float] = []
        for _ in range(10):
            start = time.perf_counter()
            (await client.get("/api/v1/operators")).raise_for_status()
            single.append((time.perf_counter() - start) * 1000.0)

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                reply = await client.get("/api/v1/operators")
                latencies.append((time.perf_counter() - start) * 1000.0)
                if reply.status_code != 200:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
    return {
        "operators_total": page.get("total"),
        "page_size": len(page.get("items", [])),
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "one_client_p50_ms": percentile(single, 50),
    }
