"""web/heap.py: what `copflow web` loads at start-up is set aside from the garbage collector,
once at once and again when the background warming says it is done."""

from __future__ import annotations

import gc
import threading
import time

from web import heap


def test_start_up_objects_are_set_aside_now_and_again_once_warmed() -> None:
    loaded = threading.Event()
    try:
        heap.settle(loaded)
        first = gc.get_freeze_count()
        assert first > 0
        kept = [[] for _ in range(1000)]  # made after start-up, before the warming ends
        loaded.set()
        deadline = time.monotonic() + 10
        while gc.get_freeze_count() < first + len(kept) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gc.get_freeze_count() >= first + len(kept)
    finally:
        gc.unfreeze()
