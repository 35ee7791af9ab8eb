"""The programme portfolio's CPU time per request, in process (issue 15, item 6).

    python -m bench.portfolio_cpu --n 1000                  # median of 20, both dates
    python -m bench.portfolio_cpu --n 1000 --save DIR       # also keep each answer (to compare)
    python -m bench.portfolio_cpu --n 1000 --profile 2027-04-02 /portfolio

A programme-staff session asks the app (FastAPI's test client, no server) for /portfolio and
/portfolio.csv on a fresh copy of the generated database (`bench.run`'s `Data`, never written),
on two dates: today (the machine's date; the bench's sessions come later, so none is read) and
2 April 2027 ("sessions held": every generated session counts). CPU time of this process
(time.process_time) per request, which a shared machine distorts far less than wall time; the
served p95 is `python -m bench.web`'s. The start-up objects are set aside from the garbage
collector as `copflow web` does (web/heap.py; --no-settle leaves them). --profile prints where
one request's CPU goes (cProfile on the worker thread's CPU clock).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
STAFF = "programme.staff@bench.example"
HELD = date(2027, 4, 2)  # after every generated session
PATHS = ("/portfolio", "/portfolio.csv")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r"/sign-in/[A-Za-z0-9_\-]+")


def prepare(snapshot: Path, folder: Path) -> Path:
    """A copy of the snapshot with its own home, and this process pointed at it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    work = folder / "portfolio-cpu.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(snapshot, work)
    os.environ.update({"COPFLOW_HOME": str(folder / "portfolio-cpu-home"), "COPFLOW_DATABASE_URL": f"sqlite:///{work}",
                       "COPFLOW_EMAIL_TRANSPORT": "file", "COPFLOW_PROGRAMME_STAFF": STAFF,
                       "COPFLOW_WEB_URL": "http://testserver"})
    return work


def signed_in_client(work: Path) -> Any:
    """The app's test client with a programme-staff session (signed in through the outbox link)."""
    from fastapi.testclient import TestClient

    from web.app import create_app

    client = TestClient(create_app(), follow_redirects=False)
    form = client.get("/sign-in")
    client.post("/sign-in", data={"email": STAFF, "csrf_token": CSRF.search(form.text).group(1)})  # type: ignore[union-attr]
    with sqlite3.connect(work) as db:
        body = db.execute("SELECT text_body FROM outbox_message WHERE to_email = ? ORDER BY id DESC LIMIT 1",
                          (STAFF,)).fetchone()
    link = LINK.search(body[0]).group(0)  # type: ignore[union-attr]
    opened = client.get(link)
    done = client.post(link, data={"csrf_token": CSRF.search(opened.text).group(1)})  # type: ignore[union-attr]
    if done.status_code != 303:
        raise RuntimeError(f"sign-in answered {done.status_code}")
    return client


@contextmanager
def on(day: date) -> Iterator[None]:
    """The web app's today is this day (web/portfolio.py asks date.today())."""
    import web.portfolio

    class Day(date):
        @classmethod
        def today(cls) -> date:
            return day

    web.portfolio.date = Day  # type: ignore[misc]
    try:
        yield
    finally:
        web.portfolio.date = date  # type: ignore[misc]


def get(client: Any, path: str) -> tuple[float, Any]:
    started = time.process_time()
    answer = client.get(path)
    spent = time.process_time() - started
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path}: {answer.status_code}")
    return spent, answer


def measure(client: Any, days: dict[str, date], rounds: int, save: Path | None) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for label, day in days.items():
        with on(day):
            for path in PATHS:
                _, answer = get(client, path)  # warm: templates compiled, statements cached
                if save is not None:
                    save.mkdir(parents=True, exist_ok=True)
                    text = CSRF.sub('name="csrf_token" value="-"', answer.text)
                    name = f"{label.replace(' ', '-')}{path.replace('/', '_').replace('.', '-')}.txt"
                    (save / name).write_text(text)
                times = [get(client, path)[0] for _ in range(rounds)]
                out[f"{path}, {label}"] = {"median_ms": round(statistics.median(times) * 1000, 1),
                                          "fastest_ms": round(min(times) * 1000, 1)}
    return out


def profile(client: Any, day: date, path: str, top: int) -> None:
    """cProfile on a CPU clock around what the route calls (the app runs it in a worker thread,
    where a profiler started here would not see it): the read, the page, each CSV row."""
    import web.portfolio

    profiler = cProfile.Profile(time.thread_time)  # this thread's CPU only
    originals = {name: getattr(web.portfolio, name) for name in ("_view", "page", "csv_row")}

    def profiled(function: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            profiler.enable()
            try:
                return function(*args, **kwargs)
            finally:
                profiler.disable()
        return call

    with on(day):
        get(client, path)
        for name, function in originals.items():
            setattr(web.portfolio, name, profiled(function))
        try:
            get(client, path)
        finally:
            for name, function in originals.items():
                setattr(web.portfolio, name, function)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    from bench.run import Data

    parser = argparse.ArgumentParser(prog="python -m bench.portfolio_cpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="CoPs in the database (default 1000)")
    parser.add_argument("--rounds", type=int, default=20, help="timed requests of each (default 20)")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("BENCH_DATA", "/tmp/copflow-bench")))
    parser.add_argument("--save", type=Path, help="write each answer here (csrf token blanked), to compare")
    parser.add_argument("--profile", nargs=2, metavar=("DAY", "PATH"), help="profile one request instead")
    parser.add_argument("--top", type=int, default=40, help="lines of the profile to print")
    parser.add_argument("--no-settle", dest="settle", action="store_false",
                        help="leave the start-up objects to the collector (as before web/heap.py)")
    args = parser.parse_args(argv)
    work = prepare(Data(args.data).snapshot(args.n), args.data / "portfolio-cpu")
    client = signed_in_client(work)
    if args.settle:  # as `copflow web` does once loaded (web/app.py serving_app)
        from web import heap

        heap.settle()
    if args.profile:
        day, path = args.profile
        profile(client, date.today() if day == "today" else date.fromisoformat(day), path, args.top)
        return 0
    days = {"today": date.today(), "sessions held": HELD}
    print(f"CPU time per request, in process, N={args.n:,} (median of {args.rounds}, fastest in brackets; "
          f"load average {os.getloadavg()[0]:.1f}; start-up objects {'set aside' if args.settle else 'collected'})")
    for label, m in measure(client, days, args.rounds, args.save).items():
        print(f"| `{label}` | {m['median_ms']} ms ({m['fastest_ms']}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
