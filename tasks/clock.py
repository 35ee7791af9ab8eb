"""The real date, the latest day anything may be recorded under (models/acting_day.py).

Only the demo moves it on, for its simulated year in its own folder (`simulated_until`); no
argument, setting or flow parameter can. The test suite moves it the same way, in its own
processes only (tests/support/clock/sitecustomize.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from models.acting_day import require_not_future

_extended_to: date | None = None


def latest_day() -> date:
    """Today's real date, or the later day a simulation has reached."""
    today = date.today()
    return max(today, _extended_to) if _extended_to is not None else today


def extend_to(day: date | None) -> None:
    global _extended_to
    _extended_to = day


@contextmanager
def simulated_until(day: date) -> Iterator[None]:
    """Let a simulation in this process (the demo's year) record days up to `day`."""
    before = _extended_to
    extend_to(day if before is None else max(before, day))
    try:
        yield
    finally:
        extend_to(before)


def checked_day(day: date | None, option: str = "--today", slack_days: int = 0) -> date:
    """The day to record under: `day` when it is not in the future, today's date when None."""
    if day is None:
        return date.today()
    return require_not_future(day, latest_day(), option, slack_days)
