"""The development commands of ``voicestatus``: ``demo``, ``sandbox`` and ``bench``.

``voicestatus.cli`` adds these to its own table when this package can be
imported (a dev install), so a production install lists none of them.
"""

from __future__ import annotations

# (module, attribute) per command, imported lazily like the product's own.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("voicestatus_dev.cli.demo", "demo"),
    "sandbox": ("voicestatus_dev.cli.sandbox", "sandbox"),
    "bench": ("voicestatus_dev.cli.bench", "bench"),
}

# Long-running commands whose INFO log is their output, as for ``serve``.
SERVICE_COMMANDS = frozenset({"demo"})
