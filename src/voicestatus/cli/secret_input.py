"""Secrets on the command line: read them where ``ps`` and shell history cannot see them.

A value in argv is visible to every local account (``/proc/<pid>/cmdline``)
for as long as the command runs, and stays in the shell history afterwards.
So a secret option given a value is refused with the way to do it instead:
the bare option (or none) prompts with hidden input, ``--<name>-stdin`` reads
one line from standard input for scripts. Anything printed that carries a
secret goes through :func:`mask` first (``doctor`` does).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

PROMPT = "\0prompt"  # the value of a bare secret option: ask for it
MASK = "***"

F = TypeVar("F", bound=Callable[..., Any])


def secret_options(name: str, *, what: str) -> Callable[[F], F]:
    """``--<name>`` (bare: prompt) and ``--<name>-stdin`` (one line from stdin).

    The command receives ``<name>`` (``None``, or :data:`PROMPT`) and
    ``<name>_stdin`` (a flag); pass both to :func:`read_secret`.
    """
    dest = name.replace("-", "_")

    def refuse_value(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None and value != PROMPT:
            raise click.BadParameter(
                f"a {what} on the command line shows in 'ps' and the shell history. Give --{name} "
                f"alone to be prompted, or --{name}-stdin to read it from standard input "
                f"(printf '%s\\n' \"$SECRET\" | voicestatus ... --{name}-stdin).",
                ctx=ctx,
                param=param,
            )
        return value

    def decorate(func: F) -> F:
        func = click.option(
            f"--{name}-stdin",
            f"{dest}_stdin",
            is_flag=True,
            help=f"Read the {what} from the first line of standard input (for scripts).",
        )(func)
        return click.option(
            f"--{name}",
            dest,
            is_flag=False,
            flag_value=PROMPT,
            default=None,
            callback=refuse_value,
            help=f"Prompt for the {what} (hidden input; never give it here as a value).",
        )(func)

    return decorate


def read_secret(label: str, *, given: str | None, from_stdin: bool, confirm: bool = True) -> str:
    """The secret from standard input (``from_stdin``) or a hidden prompt."""
    if from_stdin:
        if given is not None:
            raise click.UsageError(f"give the {label} either by prompt or on standard input, not both")
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.UsageError(f"no {label} on standard input (expected one line)")
        return line
    value: str = click.prompt(label, hide_input=True, confirmation_prompt=confirm)
    return value


def read_stdin_value(label: str) -> str:
    """One line from standard input, for a secret that has no prompt (e.g. a URL)."""
    line = sys.stdin.readline().strip()
    if not line:
        raise click.UsageError(f"no {label} on standard input (expected one line)")
    return line


def url_password(url: str) -> str | None:
    """The password part of ``scheme://user:password@host/...``, if any."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


_URL_WITH_PASSWORD = re.compile(r"\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)([^@\s/]+)(@)", re.IGNORECASE)


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL passwords and each of ``secrets`` replaced by ``***``."""
    text = _URL_WITH_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
