"""``voicestatus bench``: measure the caller path, capacity, audio and API.

Needs root (it runs its own sandbox Asterisk instance, named ``bench`` by
default) and takes a few minutes at the default rates. Prints a table and
writes the results as JSON.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from voicestatus.errors import VoiceStatusError

DEFAULT_RATES = "10,25,50,100,200"
# Beside the benchmark code and its README, which quotes these figures; the
# dev install is editable, so this is the file in the repository, wherever
# the command runs from.
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "bench" / "results.json"


def _rates(text: str) -> tuple[int, ...]:
    try:
        rates = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter("rates are whole numbers separated by commas, e.g. 10,25,50") from None
    if not rates or any(not 1 <= r <= 1000 for r in rates):
        raise click.BadParameter("each rate must be 1 to 1000 calls per second")
    return tuple(sorted(set(rates)))


@click.command()
@click.option("--rates", default=DEFAULT_RATES, show_default=True, help="New calls per second to try.")
@click.option("--seconds", type=click.FloatRange(1, 120), default=10.0, show_default=True,
              help="How long each rate runs, per path.")  # fmt: skip
@click.option("--name", default="bench", show_default=True, help="Sandbox instance name.")
@click.option("--keep", is_flag=True, help="Leave the sandbox Asterisk running afterwards.")
@click.option("--operators", type=click.IntRange(1, 1_000_000), default=10_000, show_default=True,
              help="Operators in the database for the API figure.")  # fmt: skip
@click.option("--output", type=click.Path(path_type=Path), default=DEFAULT_OUTPUT,
              show_default=True, help="Where to write the JSON results.")  # fmt: skip
def bench(rates: str, seconds: float, name: str, keep: bool, operators: int, output: Path) -> None:
    """Benchmark the caller path against the legacy installation's pure dialplan."""
    from voicestatus_dev.bench import BenchOptions, run_bench

    options = BenchOptions(rates=_rates(rates), seconds=seconds, sandbox=name, keep=keep, operators=operators)
    try:
        report = asyncio.run(run_bench(options, click.echo))
    except (VoiceStatusError, RuntimeError) as exc:
        message = exc.message if isinstance(exc, VoiceStatusError) else str(exc)
        raise click.ClickException(message) from exc
    click.echo("")
    click.echo(report.table())
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    click.echo(f"\nResults written to {output}")
