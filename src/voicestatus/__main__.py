"""``python -m voicestatus`` runs the command line."""

from __future__ import annotations

from voicestatus.cli import main

main()
