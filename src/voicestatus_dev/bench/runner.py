"""One benchmark run, end to end: sandbox, both paths at every rate, audio, API.

A and B run alternately at each rate on the same Asterisk, so both see the
same machine at nearly the same moment and the ratios mean something even
on a busy host. A path that misses at one rate is not pushed higher: its
capacity is known and heavier load would only disturb the other path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import socket
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from voicestatus import __version__
from voicestatus.asterisk.dialplan import render_dialplan
from voicestatus.config import Config
from voicestatus_dev.bench import paths
from voicestatus_dev.bench.api_bench import run_api_bench
from voicestatus_dev.bench.audio_bench import run_audio_bench
from voicestatus_dev.bench.load import LoadGenerator
from voicestatus_dev.bench.procstat import cpu_seconds, machine, rss_kb
from voicestatus_dev.bench.report import Report
from voicestatus_dev.bench.service import ServiceProcess, prepare_data, write_config
from voicestatus_dev.bench.stats import RateResult, Resources, summarise
from voicestatus_dev.sandbox import Sandbox

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    rates: Sequence[int] = (10, 25, 50, 100, 200)
    seconds: float = 10.0
    sandbox: str = "bench"
    keep: bool = False
    operators: int = 10_000
    api_clients: int = 20
    api_requests: int = 400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Rss:
    """The service's peak resident memory while a rate runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_kb(pid)
        self._task: asyncio.Task[None] | None = None

    async def _poll(self) -> None:
        while True:
            self.peak = max(self.peak, rss_kb(self.pid))
            await asyncio.sleep(0.25)

    def __enter__(self) -> _Rss:
        self._task = asyncio.create_task(self._poll())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def _measure(
    path: str, rate: int, options: BenchOptions, gen: LoadGenerator, service: ServiceProcess,
    asterisk_pid: int, idle_rss: int, http: httpx.AsyncClient,
) -> RateResult:  # fmt: skip
    endpoint = paths.endpoints()[path]
    pids = (asterisk_pid, service.pid, os.getpid())
    failed_before = await service.failed_calls(http)
    cpu_before = [cpu_seconds(p) for p in pids]
    with _Rss(service.pid) as rss:
        samples = await gen.run(endpoint, rate, options.seconds, hold=paths.MESSAGE_SECONDS)
    cpu = [cpu_seconds(p) - before for p, before in zip(pids, cpu_before, strict=True)]
    failed = await service.failed_calls(http) - failed_before if path == "B" else 0
    resources = Resources(
        asterisk_cpu_s=cpu[0],
        service_cpu_s=cpu[1] if path == "B" else None,
        generator_cpu_s=cpu[2],
        service_rss_growth_kb=float(rss.peak - idle_rss) if path == "B" else None,
        concurrent_calls=rate * paths.MESSAGE_SECONDS,
    )
    return summarise(path, rate, options.seconds, samples, resources, extra_failures=failed)


async def run_bench(options: BenchOptions, progress: Progress) -> Report:
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    sandbox = Sandbox(options.sandbox)
    progress(f"starting the sandbox Asterisk {options.sandbox!r}")
    info = await asyncio.to_thread(sandbox.up, render_dialplan(Config(), "asterisk"))
    state_dir = Path(tempfile.mkdtemp(prefix="voicestatus-bench-"))
    service: ServiceProcess | None = None
    gen: LoadGenerator | None = None
    try:
        if info.pid is None:
            raise RuntimeError("the sandbox Asterisk is not running")
        await asyncio.to_thread(sandbox.cli, "core set verbose 0")
        asterisk_version = (await asyncio.to_thread(sandbox.cli, "core show version")).strip()
        audio = paths.message_audio()
        await asyncio.to_thread(paths.install_legacy_path, sandbox, info, audio)
        config_path = write_config(state_dir, info, _free_port())
        service = ServiceProcess(config_path, state_dir / "service.log")
        progress(f"preparing the service's data ({options.operators} operators, one 3 s message)")
        token = await prepare_data(service.config, audio, paths.OPERATOR, options.operators)
        await service.start()
        gen = LoadGenerator(info.ari_url, info.ari_username, info.ari_password,
                            caller_context=paths.CALLER_CONTEXT)  # fmt: skip
        await gen.start()
        progress("warming up both paths (one call each; fills Asterisk's HTTP media cache)")
        for path in ("A", "B"):
            warm = await gen.run(paths.endpoints()[path], 1, 1, hold=paths.MESSAGE_SECONDS)
            if any(s.failure for s in warm):
                raise RuntimeError(f"path {path} does not work: {warm[0].failure}")
        idle_rss = rss_kb(service.pid)
        results: list[RateResult] = []
        async with httpx.AsyncClient(timeout=10.0) as http:
            for rate in options.rates:
                for path in ("A", "B"):
                    earlier = [r for r in results if r.path == path]
                    if earlier and not earlier[-1].sustained:
                        continue
                    result = await _measure(path, rate, options, gen, service, info.pid, idle_rss, http)
                    results.append(result)
                    progress(Report.rate_line(result))
        progress("audio processing (60 s of audio)")
        audio_figures = await asyncio.to_thread(run_audio_bench)
        progress(f"API: GET /api/v1/operators, {options.api_clients} clients")
        api_figures = await run_api_bench(service.url, token, clients=options.api_clients,
                                          requests=options.api_requests)  # fmt: skip
        return Report(
            machine={
                **machine(),
                "python": platform.python_version(),
                "asterisk": asterisk_version,
                "voicestatus": __version__,
                "load_average_at_start": load_at_start,
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            },
            method={
                "seconds_per_rate": options.seconds,
                "message_seconds": paths.MESSAGE_SECONDS,
                "rates": list(options.rates),
                "asterisk_verbose": 0,
                "service_media_wait_ms": 0,
            },
            rates=results,
            audio=audio_figures,
            api=api_figures,
        )
    finally:
        if gen is not None:
            await gen.close()
        if service is not None:
            service.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(state_dir)
        if not options.keep:
            progress(f"stopping the sandbox Asterisk {options.sandbox!r}")
            await asyncio.to_thread(sandbox.down)
