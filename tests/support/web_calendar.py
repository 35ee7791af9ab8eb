"""`copflow web` whose pages read today's date from a calendar file the test turns: a browser
test can then live a CoP's first day and the next in one server. A CoP holds at most one session
a day and none before the day it was created, so two sessions need two days.

Run as `python tests/support/web_calendar.py CALENDAR web --port N [--workers N]`. CALENDAR holds
an ISO date, or is absent (the real date). Only the web app's own `date.today()` moves; times (sign-in links,
sessions, Prefect's run states) stay real. Test-only: production never loads this file."""

from __future__ import annotations

import datetime
import importlib
import os
import pkgutil
import sys
from pathlib import Path
from typing import Self


def calendar_for(path: Path) -> type[datetime.date]:
    class Calendar(datetime.date):
        @classmethod
        def today(cls) -> Self:
            text = path.read_text().strip() if path.exists() else ""
            day = datetime.date.fromisoformat(text) if text else datetime.date.today()
            return cls(day.year, day.month, day.day)

    return Calendar


def hang_in_the_web_app(calendar: type[datetime.date]) -> None:
    """Every web module that says `date.today()` reads the calendar instead."""
    import web

    for found in pkgutil.iter_modules(web.__path__, "web."):
        module = importlib.import_module(found.name)
        if getattr(module, "date", None) is datetime.date:
            module.date = calendar  # type: ignore[attr-defined]


CALENDAR_ENV = "TESTS_WEB_CALENDAR"  # the calendar's path, for the worker processes below

if __name__ == "__main__":
    os.environ[CALENDAR_ENV] = sys.argv[1]
    hang_in_the_web_app(calendar_for(Path(sys.argv[1])))
    from cli.app import main

    sys.exit(main(sys.argv[2:]))
elif __name__ == "__mp_main__" and CALENDAR_ENV in os.environ:
    # A worker `web --workers N` started (spawned: it re-runs this file under this name, not the
    # block above) reads the same calendar.
    hang_in_the_web_app(calendar_for(Path(os.environ[CALENDAR_ENV])))
