"""The web app under a bounded loopback load: 50 concurrent signed-in sessions on N CoPs.

    python -m bench.web --n 1000            # alone (also part of `make bench`)

`copflow web` serves a fresh copy of the generated database on the embedded defaults (SQLite
file, file outbox). Each session signs in through the real sign-in link (not timed), then
requests its member pages and takes actions (volunteer, opt out) concurrently with the others.

The load is bounded as people make it: each session pauses between requests for a think time
(`--think`, default 1 s on average, jittered so the sessions do not march in step), which is
50 requests/s from 50 sessions, well below what a person reads in a second. The targets are
judged on that run. A second run with no pause at all (`--saturate`, on by default) shows the
ceiling: requests per second when every session asks again the moment it has an answer; its
latencies are mostly queueing and are printed, not judged.
Reports p50/p95/p99 for pages and for actions, and every error (anything but the expected answer);
then a programme-staff session asks for /portfolio and /portfolio.csv, one at a time (p50/p95).

`--today 2027-04-02` (bench.generate.BENCH_TODAY) serves the app on that day: every generated
session then counts in the portfolio ("sessions held"), as in a real programme; on the machine's
date none does. Only the web app's date.today() moves (tests/support/web_calendar.py, test-only),
and copflow accepts days up to it (tests/support/clock), as `make bench`'s processes do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
TARGETS = {"page_p95_s": 0.1, "action_p95_s": 1.0, "portfolio_p95_s": 0.3}
STAFF = "programme.staff@bench.example"  # COPFLOW_PROGRAMME_STAFF for the served app
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r"/sign-in/[A-Za-z0-9_\-]+")


def log(message: str) -> None:
    print(f"[bench web {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def members(db_path: str, sessions: int) -> list[tuple[str, str]]:
    """(address, slug) of one ordinary member in each of `sessions` CoPs spread over the data."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT p.email, c.slug FROM membership m JOIN person p ON p.id = m.person_id "
            "JOIN community c ON c.id = m.community_id WHERE m.left_on IS NULL AND NOT m.is_convenor "
            "AND NOT m.planning_group AND c.stage = 'active' ORDER BY c.id, m.id").fetchall()
    by_cop: dict[str, tuple[str, str]] = {}
    for email, slug in rows:
        by_cop.setdefault(slug, (email, slug))
    chosen = list(by_cop.values())
    step = max(1, len(chosen) // sessions)
    return chosen[::step][:sessions]


def link_in_outbox(db_path: str, email: str) -> str:
    with sqlite3.connect(db_path) as db:
        body = db.execute("SELECT text_body FROM outbox_message WHERE to_email = ? AND template = 'web-sign-in' "
                          "ORDER BY id DESC LIMIT 1", (email,)).fetchone()
    found = LINK.search(body[0]) if body else None
    if found is None:
        raise RuntimeError(f"no sign-in link for {email}")
    return found.group(0)


async def sign_in(base: str, db_path: str, email: str, n: int) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30, headers={"x-forwarded-for": f"10.0.{n // 250}.{n % 250}"})
    form = await client.get("/sign-in")
    token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    asked = await client.post("/sign-in", data={"email": email, "csrf_token": token})
    asked.raise_for_status()
    link = link_in_outbox(db_path, email)
    opened = await client.get(link)
    done = await client.post(link, data={"csrf_token": CSRF.search(opened.text).group(1)})  # type: ignore[union-attr]
    if done.status_code != 303:
        raise RuntimeError(f"sign-in for session {n} answered {done.status_code}")
    return client


async def one_session(client: httpx.AsyncClient, slug: str, rounds: int, out: dict[str, list[float]],
                      errors: list[str], think: float, jitter: random.Random) -> None:
    async def pause() -> None:
        if think > 0:
            await asyncio.sleep(jitter.uniform(0.5 * think, 1.5 * think))

    await pause()
    for i in range(rounds):
        for path in ("/", f"/cops/{slug}"):
            await pause()
            started = time.perf_counter()
            answer = await client.get(path)
            out["page"].append(time.perf_counter() - started)
            if answer.status_code != 200:
                errors.append(f"GET {path}: {answer.status_code}")
        if i % 5 == 4:  # an action every fifth round: volunteer, then opt out, and so on
            token = CSRF.search(answer.text)
            await pause()
            action = "volunteer" if (i // 5) % 2 == 0 else "opt-out"
            started = time.perf_counter()
            acted = await client.post(f"/cops/{slug}/{action}", data={"csrf_token": token.group(1) if token else ""})
            out["action"].append(time.perf_counter() - started)
            if acted.status_code != 303:
                errors.append(f"POST {action}: {acted.status_code}")


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"count": len(values), "p50_ms": round(cuts[49] * 1000, 1), "p95_ms": round(cuts[94] * 1000, 1),
            "p99_ms": round(cuts[98] * 1000, 1), "max_ms": round(max(values) * 1000, 1)}


async def load(base: str, db_path: str, sessions: int, rounds: int, thinks: list[float]) -> list[dict[str, Any]]:
    people = members(db_path, sessions)
    log(f"signing in {len(people)} sessions (not timed)")
    clients = [await sign_in(base, db_path, email, n) for n, (email, _) in enumerate(people)]
    runs = [await one_run(clients, [slug for _, slug in people], rounds, think) for think in thinks]
    for c in clients:
        await c.aclose()
    return runs


async def one_run(clients: list[httpx.AsyncClient], slugs: list[str], rounds: int, think: float) -> dict[str, Any]:
    out: dict[str, list[float]] = {"page": [], "action": []}
    errors: list[str] = []
    log(f"{len(clients)} sessions at once, {rounds} rounds each, think time {think:g} s")
    jitter = random.Random(7)  # the same pauses in every run of the bench
    started = time.perf_counter()
    await asyncio.gather(*(one_session(c, slug, rounds, out, errors, think, random.Random(jitter.random()))
                           for c, slug in zip(clients, slugs, strict=True)))
    wall = time.perf_counter() - started
    pages, actions = percentiles(out["page"]), percentiles(out["action"])
    return {"sessions": len(clients), "rounds": rounds, "think_s": think, "wall_s": round(wall, 2),
            "requests_per_s": round((len(out["page"]) + len(out["action"])) / wall, 1),
            "pages": pages, "actions": actions, "errors": len(errors), "error_sample": errors[:5],
            "page_ok": pages.get("p95_ms", 1e9) < TARGETS["page_p95_s"] * 1000,
            "action_ok": actions.get("p95_ms", 1e9) < TARGETS["action_p95_s"] * 1000}


async def portfolio_load(base: str, db_path: str, rounds: int) -> dict[str, Any]:
    """GET /portfolio and /portfolio.csv as a programme-staff session, one request at a time (a
    person waiting for the page), after the load above has finished."""
    client = await sign_in(base, db_path, STAFF, 9999)
    out: dict[str, list[float]] = {"/portfolio": [], "/portfolio.csv": []}
    errors: list[str] = []
    try:
        for _ in range(rounds):
            for path, times in out.items():
                started = time.perf_counter()
                answer = await client.get(path)
                times.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    errors.append(f"GET {path}: {answer.status_code}")
    finally:
        await client.aclose()
    page, sheet = percentiles(out["/portfolio"]), percentiles(out["/portfolio.csv"])
    return {"page": page, "csv": sheet, "errors": errors[:5],
            "ok": max(page.get("p95_ms", 1e9), sheet.get("p95_ms", 1e9)) < TARGETS["portfolio_p95_s"] * 1000}


def on_day(env: dict[str, str], home: Path, today: date | None) -> tuple[list[str], dict[str, str]]:
    """The command that starts copflow, and its environment: on the machine's date, or (today
    given) with the web app's date.today() on that day and copflow accepting days up to it."""
    if today is None:
        return [str(Path(sys.executable).parent / "copflow")], env
    calendar = home / "calendar"
    calendar.write_text(today.isoformat())
    support = REPO / "tests" / "support"
    clock = {"PYTHONPATH": os.pathsep.join(filter(None, [str(support / "clock"), str(REPO), env.get("PYTHONPATH")])),
             "TESTS_COPFLOW_LATEST_DAY": today.isoformat()}
    return [sys.executable, str(support / "web_calendar.py"), str(calendar)], {**env, **clock}


def serve(env: dict[str, str], port: int, home: Path, workers: int,
          today: date | None = None) -> subprocess.Popen[bytes]:
    command, env = on_day(env, home, today)
    # The server's own log goes to a file (a pipe nobody reads would fill and stall it).
    with (home / "web.log").open("wb") as server_log:
        process = subprocess.Popen([*command, "web", "--port", str(port), "--workers", str(workers)], env=env,
                                   cwd=home, stdout=subprocess.DEVNULL, stderr=server_log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"copflow web stopped: {(home / 'web.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("copflow web did not start")


def run_web(url: str, home: Path, sessions: int = 50, rounds: int = 20, workers: int = 2,
            think: float = 1.0, saturate: bool = True, today: date | None = None) -> dict[str, Any]:
    """Serve this database (a sqlite:/// URL of a fresh copy) and load it: paced, then (if asked)
    saturated. The paced run's figures are the result; the saturated run is under `saturated`.
    today: the web app's date (None: the machine's)."""
    import socket

    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {**os.environ, "COPFLOW_HOME": str(home), "COPFLOW_DATABASE_URL": url, "COPFLOW_EMAIL_TRANSPORT": "file",
           "COPFLOW_WEB_URL": f"http://127.0.0.1:{port}", "COPFLOW_PROGRAMME_STAFF": STAFF}
    process = serve(env, port, home, workers, today)
    base, db_path = f"http://127.0.0.1:{port}", url.removeprefix("sqlite:///")
    try:
        thinks = [think, 0.0] if saturate and think > 0 else [think]
        runs = asyncio.run(load(base, db_path, sessions, rounds, thinks))
        staff = asyncio.run(portfolio_load(base, db_path, max(rounds, 10)))
        extra = {"saturated": runs[1]} if len(runs) > 1 else {}
        staff["today"] = (today or date.today()).isoformat()
        return {**runs[0], **extra, "portfolio": staff, "errors": runs[0]["errors"] + len(staff["errors"]),
                "workers": workers, "load_average": os.getloadavg()}
    finally:
        process.terminate()
        process.wait(timeout=30)


def table(web: dict[str, Any], n: int) -> str:
    yes = {True: "yes", False: "NO"}
    p, a = web["pages"], web["actions"]
    lines = [
        f"web: {web['sessions']} concurrent signed-in sessions, N={n:,} CoPs, each pausing {web['think_s']:g} s on "
        f"average between requests: {web['requests_per_s']} requests/s, "
        f"{web['errors']} errors ({web['workers']} worker processes; load average {web['load_average'][0]:.1f})",
        "| measure | count | p50 | p95 | p99 | target (p95) | met |", "|---|---:|---:|---:|---:|---:|:-:|",
        f"| page (home, CoP page) | {p['count']} | {p['p50_ms']} ms | {p['p95_ms']} ms | {p['p99_ms']} ms | "
        f"< {TARGETS['page_p95_s'] * 1000:.0f} ms | {yes[web['page_ok']]} |",
        f"| action (volunteer, opt out) | {a['count']} | {a['p50_ms']} ms | {a['p95_ms']} ms | {a['p99_ms']} ms | "
        f"< {TARGETS['action_p95_s'] * 1000:.0f} ms | {yes[web['action_ok']]} |",
        *portfolio_rows(web.get("portfolio"), n),
    ]
    if "saturated" in web:
        s, sp, sa = web["saturated"], web["saturated"]["pages"], web["saturated"]["actions"]
        lines.append(f"ceiling, no pause between requests: {s['requests_per_s']} requests/s, {s['errors']} errors; "
                     f"page p50/p95 {sp['p50_ms']}/{sp['p95_ms']} ms, action p50/p95 {sa['p50_ms']}/{sa['p95_ms']} ms "
                     "(queueing, not judged)")
    return "\n".join(lines)


def portfolio_rows(staff: dict[str, Any] | None, n: int) -> list[str]:
    if not staff:
        return []
    target = TARGETS["portfolio_p95_s"] * 1000
    day = staff.get("today", "the machine's date")
    return [f"| portfolio page, {n:,} CoPs ({label}, on {day}) | {m['count']} | {m['p50_ms']} ms | {m['p95_ms']} ms | "
            f"{m['p99_ms']} ms | < {target:.0f} ms | {'yes' if m['p95_ms'] < target else 'NO'} |"
            for label, m in (("/portfolio", staff["page"]), ("/portfolio.csv", staff["csv"]))]


def main(argv: list[str] | None = None) -> int:
    from bench.generate import BENCH_TODAY
    from bench.run import Data

    parser = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="CoPs in the database (default 1000)")
    parser.add_argument("--sessions", type=int, default=50, help="concurrent signed-in sessions")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of requests per session")
    parser.add_argument("--think", type=float, default=1.0,
                        help="average pause in seconds between a session's requests (0: none)")
    parser.add_argument("--no-saturate", dest="saturate", action="store_false",
                        help="skip the run with no pause that shows the ceiling")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="copflow web --workers (default: the cores, at most 2)")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("BENCH_DATA", "/tmp/copflow-bench")))
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "web.json")
    parser.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help=f"the web app's date (default: the machine's; {BENCH_TODAY}: every session counts)")
    args = parser.parse_args(argv)
    data = Data(args.data)
    result = run_web(data.fresh(args.n), args.data / "web-home", args.sessions, args.rounds, args.workers,
                     args.think, args.saturate, args.today)
    print(table(result, args.n))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"n": args.n, **result}, indent=2))
    return 0 if result["errors"] == 0 and result.get("saturated", {}).get("errors", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
