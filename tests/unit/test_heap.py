"""web/heap.py: what `copflow web` loads at start-up is set aside from the garbage collector,
once at once and again when the background warming says it is done; and the portfolio pauses
the collector while it works, leaving it as it found it."""

from __future__ import annotations

import gc
import threading
import time

import pytest

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


def test_the_collector_is_paused_inside_and_back_after_the_last_of_overlapping_requests() -> None:
    assert gc.isenabled()
    with heap.collector_paused():
        assert not gc.isenabled()
        with heap.collector_paused():  # a second portfolio request at the same time
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first is still working
    assert gc.isenabled()


def test_a_failing_request_still_resumes_the_collector_and_one_found_off_stays_off() -> None:
    with pytest.raises(RuntimeError), heap.collector_paused():
        raise RuntimeError("the read failed")
    assert gc.isenabled()
    gc.disable()  # as a command's start-up leaves it for its first second
    try:
        with heap.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
