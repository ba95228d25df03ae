"""Which log lines a command shows: its own output first, the log only when asked (issue 19)."""

from __future__ import annotations

import logging

import pytest

from voicestatus.cli import log_level


@pytest.mark.parametrize(
    ("command", "verbose", "level"),
    [
        ("freepbx", 0, logging.WARNING),
        ("doctor", 0, logging.WARNING),
        ("import-legacy", 1, logging.INFO),
        ("purge", 2, logging.DEBUG),
        ("operators", 5, logging.DEBUG),
        ("serve", 0, logging.INFO),
        ("demo", 0, logging.INFO),
        ("serve", 2, logging.DEBUG),
        (None, 0, logging.WARNING),
    ],
)
def test_log_level(command: str | None, verbose: int, level: int) -> None:
    """Commands log warnings and errors unless -v; the service commands keep their INFO log."""
    assert log_level(command, verbose) == level
