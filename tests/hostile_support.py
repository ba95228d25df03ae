"""Helpers for the hostile-input tier (tests/security): value generation, tallies, snapshots.

Every hostile value a test tries is counted per category in ``TALLY``; the
tier's conftest prints the counts at the end of the session and, when the
whole tier ran, fails the session if a category tried fewer values than
planned in ``MINIMUMS`` or the total is under 500.

"Nothing changed" is checked on what a user or an auditor would look at: every
row of every table (except the "last used/seen" bookkeeping a request may
touch), and every file under the service's root directory with its size and
modification time.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from voicestatus.services.audit import Actor
from web_support import SPEECH_WAV, Web

T = TypeVar("T")

TALLY: Counter[str] = Counter()

# The least each category must try; together they are the tier's promise of >= 500 values.
MINIMUMS: dict[str, int] = {
    "config": 150,
    "api-fields": 120,
    "path-params": 60,
    "query-params": 60,
    "headers": 40,
    "login-forms": 40,
    "media-names": 30,
    "uploads": 60,
    "caller-ids": 12,
    "channel-variables": 16,
    "stasis-args": 16,
    "menu-dtmf": 40,
}
assert sum(MINIMUMS.values()) >= 500

# Columns a harmless request may legitimately touch (token and session bookkeeping).
VOLATILE_COLUMNS = {("api_tokens", "last_used_at"), ("web_sessions", "last_seen_at")}
# Counters of failed PIN/password attempts, and the audited lock-out they lead to:
# a failed hostile login is meant to count.
VOLATILE_TABLES = {"pin_guards"}
LOCKOUT_ACTIONS = {"pin-locked"}


def tally(category: str, values: int) -> None:
    """Record that ``values`` hostile values of ``category`` were tried (checked at session end)."""
    assert category in MINIMUMS, category
    TALLY[category] += values


def shortfalls() -> list[str]:
    """Categories that tried fewer values than planned, and a total under 500."""
    short = [f"{c}: {TALLY[c]} < {m}" for c, m in MINIMUMS.items() if TALLY[c] < m]
    if sum(TALLY.values()) < 500:
        short.append(f"total: {sum(TALLY.values())} < 500")
    return short


def generate(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """``count`` (or fewer, if the strategy runs dry) values, the same on every run.

    Hypothesis is used as a deterministic generator (``derandomize``); the
    values are then sent one by one, so a failure names the exact input.
    """
    out: list[T] = []

    @settings(
        max_examples=count,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: T) -> None:
        out.append(value)

    collect()
    return out


# -- reusable hostile text --------------------------------------------------------------

CONTROL = "".join(chr(c) for c in [*range(0, 32), 127, 0x85, 0x2028, 0x2029, 0x202E, 0xFEFF])

HOSTILE_TEXT: list[str] = [
    "",
    " ",
    "\x00",
    "101\x00",
    "\r\n",
    "101\r\nSet-Cookie: x=1",
    "${SHELL}",
    "$(id)",
    "`id`",
    "';DROP TABLE operators;--",
    '" OR 1=1 --',
    "%",
    "_",
    "%00",
    "../../etc/passwd",
    "..\\..\\boot.ini",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "{% raw %}",
    "١٠١",  # Arabic-Indic digits
    "１０１",  # fullwidth digits
    "101\u200b",  # zero-width space
    "\u202e101",  # right-to-left override
    "😀",
    "a" * 10_000,
    "1" * 10_000,
    "\t101",
    "101,102",
    "101)",
    "Local/101@x",
    "PJSIP/101",
    "-1",
    "0x65",
    "1e3",
    "NaN",
    "null",
]


def hostile_strings(max_size: int = 300) -> st.SearchStrategy[str]:
    """Arbitrary unicode (control characters, surrogate-free) plus the classics above."""
    return st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=max_size))


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON-ish value a client could send where one type is expected."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        hostile_strings(60),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=6,
    )


# -- snapshots --------------------------------------------------------------------------


def db_rows(db_file: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the service's SQLite database, in a stable order."""
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        dump: dict[str, list[tuple[Any, ...]]] = {}
        for table in sorted(set(tables) - VOLATILE_TABLES):
            columns = [
                r[1]
                for r in conn.execute(f'PRAGMA table_info("{table}")')
                if (table, r[1]) not in VOLATILE_COLUMNS
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            rows = conn.execute(f'SELECT {listed} FROM "{table}"').fetchall()  # noqa: S608 (our own names)
            if table == "audit_log":
                rows = [row for row in rows if not LOCKOUT_ACTIONS & set(row)]
            dump[table] = sorted(rows, key=repr)
        return dump
    finally:
        conn.close()


def files_under(root: Path, *, skip: Callable[[Path], bool] = lambda _p: False) -> dict[str, tuple[int, int]]:
    """Every file below ``root`` with its size and modification time."""
    found: dict[str, tuple[int, int]] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if skip(path):
                continue
            st_ = path.lstat()
            found[str(path.relative_to(root))] = (st_.st_size, st_.st_mtime_ns)
    return found


State = tuple[dict[str, list[tuple[Any, ...]]], dict[str, tuple[int, int]]]


def state_changes(before: State, after: State) -> list[str]:
    """What differs between two snapshots: rows added or removed per table, files."""
    found = []
    for table in sorted(set(before[0]) | set(after[0])):
        old, new = before[0].get(table, []), after[0].get(table, [])
        if old != new:
            added = [r for r in new if r not in old]
            removed = [r for r in old if r not in new]
            found.append(f"table {table}: added {added!r:.300}, removed {removed!r:.200}")
    found += [f"file {p} created or changed" for p in after[1] if after[1][p] != before[1].get(p)]
    found += [f"file {p} removed" for p in before[1] if p not in after[1]]
    return found


def is_database_file(path: Path) -> bool:
    return path.name.startswith("voicestatus.db")


def problems_in_log(records: list[logging.LogRecord]) -> list[str]:
    """Log records a hostile request must never cause: tracebacks and errors."""
    return [
        f"{r.name} {r.levelname}: {r.getMessage()[:300]}"
        for r in records
        if r.exc_info is not None or r.levelno >= logging.ERROR
    ]


def report(failures: list[str], caplog: pytest.LogCaptureFixture) -> None:
    """Fail with every wrong answer and every error or traceback the log got, if any."""
    logged = problems_in_log(caplog.records)
    found = failures[:40] + [f"log: {line}" for line in logged[:20]]
    assert not found, "hostile input got wrong answers or caused errors:\n" + "\n".join(found)


def peak_rss_reset() -> None:
    """Reset the process's peak resident memory (VmHWM), to measure one operation's peak."""
    Path("/proc/self/clear_refs").write_text("5")


def memory_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


# -- a running service with data in it ---------------------------------------------------


@dataclass
class HostileWeb:
    """A running service (web side, no Asterisk) with data in it, and its root directory."""

    web: Web
    root: Path
    token: str

    @property
    def db_file(self) -> Path:
        return self.root / "voicestatus.db"

    def state(self) -> State:
        """Every row of the database and every file under the root (database files aside)."""
        return db_rows(self.db_file), files_under(self.root, skip=is_database_file)

    def changes(self, before: State) -> list[str]:
        return state_changes(before, self.state())


SEED_PIN = "24682468"


async def seed(web: Web) -> None:
    """Operator 101 (named, with a PIN and a live message) and 102 (a bare record)."""
    svc = web.service
    actor = Actor("cli", "seed")
    await svc.operators.update("101", name="Anna", actor=actor)
    await svc.operators.set_pin("101", SEED_PIN, actor=actor)
    await svc.operators.update("102", name="Boris", actor=actor)
    audio = await svc.messages.process_upload(SPEECH_WAV)
    await svc.messages.publish("101", 1, audio, actor=actor)
