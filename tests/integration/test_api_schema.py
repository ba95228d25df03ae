"""Property-based API tests generated from the OpenAPI schema, against the running server.

Schemathesis makes requests from what ``/api/openapi.json`` promises and checks
that the server never fails (5xx) and answers with the documented status
codes, content types and JSON shapes. Few examples per operation keep it quick.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from support import free_port
from web_support import SPEECH_WAV, Web, start_web, web_config


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    async for running in start_web(web_config(tmp_path, free_port())):
        async with running.api() as client:
            assert (await client.put("/api/v1/operators/101/messages/1", content=SPEECH_WAV)).is_success
        yield running


def run_schema(schema_dict: dict[str, Any], base: str, token: str) -> list[str]:
    schema = schemathesis.openapi.from_dict(schema_dict)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]

        @hypothesis.settings(
            max_examples=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        @hypothesis.given(case=operation.as_strategy())
        def check(case: schemathesis.Case[Any, Any]) -> None:  # type: ignore[type-arg,unused-ignore]
            response = case.call(base_url=base, headers=headers, timeout=30)
            try:
                case.validate_response(response, checks=checks)
            except Exception as exc:
                failures.append(f"{case.method} {case.formatted_path}: {exc}"[:500])

        check()
    return failures


async def test_api_conforms_to_its_schema(web: Web) -> None:
    async with web.api() as client:
        schema = (await client.get("/api/openapi.json")).json()
    assert "bearerAuth" in str(schema) or "HTTPBearer" in str(schema)
    failures = await asyncio.to_thread(run_schema, schema, web.base, web.token)
    assert failures == []
    async with web.api() as client:
        metrics = (await client.get("/metrics")).text
    served = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("voicestatus_http_request_seconds_count")
    )
    assert served > 40, "schemathesis made too few requests to mean anything"
