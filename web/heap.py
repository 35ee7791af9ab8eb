"""The served process's start-up objects, set aside from the garbage collector once loaded.

A large page (the portfolio: 1,000 CoPs) makes enough objects to set off several full
collections a request, and each walked every object the process had made at start-up (FastAPI,
SQLAlchemy, Jinja, Prefect once warmed): 80 to 150 ms of CPU a request at 1,000 CoPs
(docs/performance.md). gc.freeze() moves the objects alive now out of the collector's sight;
they are still freed by reference counting, and the collector still finds cycles made later.
"""

from __future__ import annotations

import gc
import threading


def settle(loaded: threading.Event | None = None) -> None:
    """Set aside what is loaded now, and again once `loaded` is set (the background warming)."""
    _freeze()
    if loaded is not None:
        threading.Thread(target=_freeze_when, args=(loaded,), name="copflow-settle-heap", daemon=True).start()


def _freeze() -> None:
    gc.collect()  # garbage first: a frozen cycle would never be collected
    gc.freeze()


def _freeze_when(loaded: threading.Event) -> None:
    if loaded.wait(timeout=600):
        _freeze()
