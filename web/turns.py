"""Decisions' flow runs take turns in the web process, first come, first served.

On the embedded defaults both stores a run writes to are SQLite files: copflow's database and
the local Prefect server's. Each takes one writer at a time, and Prefect's server answers a
write that loses the race with 503, which its client retries after 2, 4, then 8 s. Four
convenors deciding at once measured p95 7.4 s that way (docs/performance.md); taking turns,
each waits for the runs ahead of it, a fraction of a second each. Pages and records do not wait.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class Turns:
    """A fair lock: threads get their turn in the order they asked (threading.Lock promises no
    order, and under steady contention one thread can wait through many others' turns)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._queue: deque[object] = deque()

    @contextmanager
    def turn(self) -> Iterator[None]:
        me = object()
        with self._changed:
            self._queue.append(me)
            self._changed.wait_for(lambda: self._queue[0] is me)
        try:
            yield
        finally:
            with self._changed:
                self._queue.popleft()
                self._changed.notify_all()

    def waiting(self) -> int:
        """How many runs are waiting or running (for the bench and tests)."""
        with self._changed:
            return len(self._queue)
