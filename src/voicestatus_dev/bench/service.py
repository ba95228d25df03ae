"""Our service as the benchmark runs it: a separate ``voicestatus serve`` process.

A process of its own, so its CPU time and memory can be read from /proc
apart from Asterisk's and the load generator's. Its data (the operator's
message, 10,000 operators, an API token) is written beforehand through the
product's own services, the way an admin would create it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from voicestatus.audio.process import ProcessedAudio
from voicestatus.config import Config, load_config
from voicestatus.services.audit import Actor
from voicestatus.storage.models import Operator
from voicestatus_dev.sandbox import SandboxInfo

ACTOR = Actor("cli", "bench")
# Counted as failed calls when they move during a run.
FAILED_OUTCOMES = ("error", "unknown-flow")


def write_config(state_dir: Path, info: SandboxInfo, port: int) -> Path:
    """A TOML file pointing the service at the sandbox; the caller path does not wait for media.

    Local channels cannot report received RTP, so the flow's media wait would
    always run to its full length there; the load's caller half sends audio
    at once, as a phone does, so the wait is switched off for the benchmark.
    """
    values: dict[str, dict[str, object]] = {
        "ari": {"url": info.ari_url, "username": info.ari_username, "password": info.ari_password},
        "http": {"listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}"},
        "database": {"url": f"sqlite:///{state_dir / 'voicestatus.db'}"},
        "media": {"dir": str(state_dir / "media")},
        "caller": {"media_wait_ms": 0},
        # The API benchmark's 10,000 operators are real (allowed) operators.
        "operators": {"pattern": "_1XX,100000-109999"},
    }
    lines: list[str] = []
    for section, table in values.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    path = state_dir / "voicestatus.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def prepare_data(config: Config, audio: ProcessedAudio, extension: str, operators: int) -> str:
    """Publish the message, add ``operators`` operators and an admin; returns an API token."""
    from voicestatus.app import Service

    service = Service(config)
    try:
        await service.db.migrate()
        now = datetime.now(UTC)
        rows = [
            {"extension": str(100000 + n), "name": f"Operator {n}", "created_at": now, "updated_at": now}
            for n in range(operators)
        ]
        async with service.db.transaction() as session:
            await session.execute(insert(Operator), rows)
        await service.messages.publish(extension, 1, audio, actor=ACTOR)
        await service.accounts.create_admin("bench", os.urandom(16).hex(), actor=ACTOR)
        return await service.accounts.create_token("bench", name="bench", actor=ACTOR)
    finally:
        await service.ari.aclose()
        await service.db.close()


class ServiceProcess:
    """``python -m voicestatus serve`` with the benchmark's config."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.config = load_config(config_path, environ={})
        self.url = self.config.http.public_url
        self._log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("the service is not running")
        return self._proc.pid

    async def start(self, timeout: float = 30.0) -> None:
        self._proc = await asyncio.to_thread(self._spawn)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while loop.time() < deadline:
                if self._proc.poll() is not None:
                    raise RuntimeError(
                        f"the service exited with {self._proc.returncode}; see {self._log_path}"
                    )
                try:
                    response = await client.get(f"{self.url}/healthz")
                    if response.status_code == 200 and response.json().get("ok"):
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"the service did not become healthy in {timeout:.0f} s; see {self._log_path}")

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self._log_path.open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "voicestatus", "serve", "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    async def failed_calls(self, client: httpx.AsyncClient) -> int:
        """Caller-path calls the service counted as failed, or that got a fallback, so far."""
        response = await client.get(f"{self.url}/metrics")
        response.raise_for_status()
        total = 0.0
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                labels = sample.labels
                if sample.name == "voicestatus_calls_total" and labels.get("flow") == "unavailable":
                    total += sample.value if labels.get("outcome") in FAILED_OUTCOMES else 0.0
                elif sample.name == "voicestatus_fallbacks_total":
                    total += sample.value
        return round(total)
