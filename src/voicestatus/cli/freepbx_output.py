"""What ``freepbx apply|revert`` print: a table and a summary for people, JSON for scripts.

Kept apart from the commands so both read as what they do; the JSON carries
everything the table shows plus the reload's exit status and output, so an
automation can tell "changed but not reloaded" from "nothing changed".
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from voicestatus.config import FreepbxConfig
from voicestatus.errors import VoiceStatusError
from voicestatus.freepbx.wiring import Change, Outcome


def outcome_json(outcome: Outcome) -> dict[str, object]:
    """An outcome as plain data (``--json``)."""

    def change(c: Change) -> dict[str, str]:
        return {"extension": c.extension, "reason": c.reason, "before": c.before, "after": c.after}

    reload = outcome.reload
    return {
        "dry_run": outcome.dry_run,
        "changes": [change(c) for c in outcome.changes],
        "unchanged": [change(c) for c in outcome.unchanged],
        "skipped": [{**change(c), "why": why} for c, why in outcome.skipped],
        "unused": list(outcome.unused),
        "not_operators": list(outcome.not_operators),
        "reload_pending": outcome.reload_pending,
        "reload": None
        if reload is None
        else {
            "command": reload.command,
            "ok": reload.ok,
            "exit_status": reload.returncode,
            "timed_out": reload.timed_out,
            "output": reload.output,
        },
    }


def print_table(changes: list[Change], header: tuple[str, str]) -> None:
    if not changes:
        return
    widths = [
        max(len("extension"), *(len(c.extension) for c in changes)),
        max(len("reason"), *(len(c.reason) for c in changes)),
        max(len(header[0]), *(len(c.before or "(empty)") for c in changes)),
    ]
    click.echo(f"{'extension':<{widths[0]}}  {'reason':<{widths[1]}}  {header[0]:<{widths[2]}}  {header[1]}")
    for c in changes:
        click.echo(
            f"{c.extension:<{widths[0]}}  {c.reason:<{widths[1]}}  "
            f"{c.before or '(empty)':<{widths[2]}}  {c.after or '(empty)'}"
        )


@contextmanager
def progress(total: int, label: str, *, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """A bar on stderr, finished as soon as the last step is done.

    The reload runs after the last step, still inside this context; its own
    lines ("Reloading FreePBX ...") must start on a fresh line, not after the bar.
    """
    if quiet:
        yield lambda _done: None
        return
    done = 0
    with click.progressbar(length=total, label=label, show_pos=True, file=sys.stderr) as bar:

        def step(n: int) -> None:
            nonlocal done
            bar.update(n)
            done += n
            if done >= total and not bar.hidden:
                bar.render_finish()
                bar.hidden = True  # the context's own finish would end the line a second time

        yield step


def echo_json(outcome: Outcome | None, error: VoiceStatusError | None = None) -> None:
    """The whole outcome for scripts; ``ok`` is false whenever the exit status is not 0."""
    report: dict[str, object] = {"ok": error is None}
    if outcome is not None:
        report.update(outcome_json(outcome))
    if error is not None:
        report["error"] = {"id": error.error_id, "message": error.message}
    click.echo(json.dumps(report, indent=2))


def fail(error: VoiceStatusError, as_json: bool, outcome: Outcome | None = None) -> NoReturn:
    if as_json:
        echo_json(outcome, error)
        raise SystemExit(1)
    raise click.ClickException(error.message) from error


def reload_progress(config: FreepbxConfig) -> Callable[[float], None]:
    """Lines on stderr while the reload runs: when it starts, then every few seconds.

    A reload can take minutes or hang; without these an admin cannot tell
    which, nor when we give up.
    """

    def show(seconds: float) -> None:
        if seconds <= 0:
            limit = f"stopped after {config.reload_timeout:.0f} s"
            click.echo(f"Reloading FreePBX ({config.reload_command}; {limit})...", err=True)
        else:
            click.echo(f"  still reloading: {seconds:.0f} s", err=True)

    return show


def show_pending(outcome: Outcome, dry_run: bool) -> None:
    """Say plainly when a run reloads although no destination changes."""
    if outcome.changes or not outcome.reload_pending:
        return
    if dry_run:
        click.echo(
            "The last FreePBX reload failed and FreePBX still needs one; "
            "run this without --dry-run to reload it again."
        )
    else:
        click.echo("The last FreePBX reload failed and FreePBX still needs one: reloading it again.")


def report(outcome: Outcome, verb: str) -> None:
    if outcome.reload is not None:
        click.echo(f"Reload: {outcome.reload.describe()}")
    n = count_extensions(outcome.changes)
    if outcome.dry_run:
        click.echo(
            f"Dry run: {len(outcome.changes)} destination(s) on {n} extension(s) would be {verb}; "
            "nothing was changed."
        )
    elif outcome.changes:
        click.echo(f"{verb.capitalize()}: {len(outcome.changes)} destination(s) on {n} extension(s).")
    elif outcome.reload is not None:
        click.echo(f"No destination changed; FreePBX was reloaded, so it now runs the {verb} destinations.")
    else:
        click.echo(f"Nothing to do: nothing was {verb}.")


def count_extensions(changes: list[Change]) -> int:
    return len({c.extension for c in changes})
