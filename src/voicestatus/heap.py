"""Keep the garbage collector's full passes out of callers' way.

A full (generation 2) collection walks every tracked object. After start-up
the service holds a few hundred thousand long-lived ones (modules, ORM and
web framework machinery, caches), and on a busy 2-core PBX one such pass
measured 35-110 ms: every caller whose call started meanwhile waited that
long for their first audio. Freezing what exists once start-up is done
moves those objects out of the collector's sight; later passes only walk
what was allocated since, and per-call garbage is still collected as usual.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Collect start-up garbage, then exempt the survivors from later passes; return their count."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("froze %d start-up objects out of the garbage collector's passes", frozen)
    return frozen
