"""What the drills did, counted as each test runs, for the summary line at the end of the session."""

from __future__ import annotations

from collections import Counter


class Tally:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def kill(self, what: str) -> None:
        self.counts["kill points survived"] += 1

    def race(self, processes: int) -> None:
        self.counts["races run"] += 1
        self.counts["racing processes"] += processes

    def fault(self, n: int = 1) -> None:
        self.counts["faults injected"] += n

    def hostile(self, n: int = 1) -> None:
        self.counts["hostile inputs tried"] += n

    def permission(self, n: int = 1) -> None:
        self.counts["permission cases"] += n

    def erasure(self, n: int = 1) -> None:
        self.counts["erasure places checked"] += n

    def web(self, n: int = 1) -> None:
        self.counts["web cases"] += n

    def take(self) -> dict[str, int]:
        """What was counted since the last take (and start counting afresh)."""
        done, self.counts = dict(self.counts), Counter()
        return done


DRILLS = Tally()
