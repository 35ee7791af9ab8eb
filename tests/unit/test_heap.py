"""web/heap.py: what `copflow web` loads at start-up is set aside from the garbage collector,
once at once and again when the background warming says it is done; and the portfolio pauses
the collector while it works, leaving it as it found it."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

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


def test_requests_that_keep_overlapping_still_let_the_collector_run_now_and_then(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "LONGEST_PAUSE_S", 0.0)
    collections = []
    monkeypatch.setattr(gc, "collect", lambda *a: collections.append(a) or 0)
    with heap.collector_paused():
        with heap.collector_paused():
            time.sleep(0.01)
        assert collections and not gc.isenabled()  # collected once, and still paused for the first
    assert gc.isenabled()


def test_the_portfolio_is_read_with_the_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both routes pause it (web/portfolio.py), around the read that makes the objects."""
    import tasks.usecases.portfolio as use
    from web import portfolio as route

    seen = []
    monkeypatch.setattr(use, "portfolio", lambda db, today: seen.append(gc.isenabled()) or {})
    monkeypatch.setattr(route, "is_programme_staff", lambda viewer: True)
    monkeypatch.setattr(route, "signed_in", lambda request, db: None)
    monkeypatch.setattr(route, "read_scope", _no_database)
    from fastapi.responses import Response

    monkeypatch.setattr(route, "_filters", lambda request: None)  # stop after the read
    monkeypatch.setattr(route, "page", lambda *a, **k: Response(b"refused", status_code=400))
    for view in (route.portfolio_page, route.portfolio_csv):
        assert view(object()).body == b"refused"  # type: ignore[arg-type]
    assert seen == [False, False] and gc.isenabled()


@contextmanager
def _no_database() -> Iterator[None]:
    yield None
