"""The served process's start-up objects, set aside from the garbage collector once loaded.

A large page (the portfolio: 1,000 CoPs) makes enough objects to set off several full
collections a request, and each walked every object the process had made at start-up (FastAPI,
SQLAlchemy, Jinja, Prefect once warmed): 80 to 150 ms of CPU a request at 1,000 CoPs
(docs/performance.md). gc.freeze() moves the objects alive now out of the collector's sight;
they are still freed by reference counting, and the collector still finds cycles made later.

The portfolio pauses the collector while it reads and renders (`collector_paused`): its 200,000
or so objects a request are freed by reference counting when it ends, and the collector's passes
over them while they live (some 230 a request, one or two of them full) find nothing and cost
about 25 ms of its CPU. Cycles made meanwhile, anywhere, are collected once it resumes.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


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


# Requests that keep overlapping could keep the collector off for good, and cycles made meanwhile
# (any thread's) would pile up: whichever request ends after it has been off this long collects.
LONGEST_PAUSE_S = 2.0
_pausing = threading.Lock()
_paused = 0  # requests inside collector_paused()
_was_enabled = True
_off_since = 0.0


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off while this runs, and back as it was once the last such request ends."""
    global _paused, _was_enabled, _off_since
    with _pausing:
        if _paused == 0:
            _was_enabled, _off_since = gc.isenabled(), time.monotonic()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _pausing:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()
            elif _paused and time.monotonic() - _off_since > LONGEST_PAUSE_S:
                gc.collect()  # still paused for the others, but not for ever
                _off_since = time.monotonic()
