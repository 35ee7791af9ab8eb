"""The web app's decisions take turns, in the order people pressed (web/turns.py)."""

from __future__ import annotations

import threading
import time

from web.turns import Turns


def _wait_until(check, limit: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, "the queue never reached the expected length"
        time.sleep(0.005)


def test_each_waits_for_the_one_before_and_they_go_in_the_order_they_asked() -> None:
    turns, order, inside, together = Turns(), [], [], []
    first = turns.turn()
    first.__enter__()  # someone's decision is running

    def decide(name: str) -> None:
        with turns.turn():
            inside.append(name)
            if len(inside) > 1:
                together.append(list(inside))  # two runs at once: what the turns prevent
            order.append(name)
            time.sleep(0.01)
            inside.remove(name)

    threads = []
    for n, name in enumerate(("b", "c", "d", "e")):
        threads.append(threading.Thread(target=decide, args=(name,)))
        threads[-1].start()
        _wait_until(lambda n=n: turns.waiting() == n + 2)  # queued behind the running one, in order
    assert order == []  # all wait while the first runs
    first.__exit__(None, None, None)
    for t in threads:
        t.join(10)
    assert order == ["b", "c", "d", "e"]
    assert together == []
    assert turns.waiting() == 0


def test_a_run_that_fails_gives_up_its_turn() -> None:
    turns = Turns()
    try:
        with turns.turn():
            raise RuntimeError("the flow failed")
    except RuntimeError:
        pass
    with turns.turn():  # would wait forever if the failed run kept its turn
        assert turns.waiting() == 1
