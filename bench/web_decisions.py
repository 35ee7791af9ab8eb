"""The convenor's decisions through `copflow web`: from the click to the page showing the outcome.

    python -m bench.web_decisions --n 1000                 # embedded defaults, then a Prefect server

Convenors of distinct active CoPs sign in (not timed), then each takes three decisions in turn on
their own CoP, two convenors at once (`--at-once`): rotate the planning lead, close with notice,
continue. Each decision is one timed POST of its confirmation form, drawn just before and read for
about a second (`--think`, jittered 0.5-1.5 s, as bench/web.py paces its sessions), answered by the
page saying what it did; each runs its Prefect flow in the web process. The judged figures come
from that run. Then other convenors press four at once with no pause (`--ceiling-at-once`): the
ceiling, printed, not judged. Measured twice: on
the embedded defaults (the web process's own local Prefect API) and with a Prefect server
(PREFECT_API_URL), where every run is recorded on the server. Reports p50/p95/p99 and the first
convenor after start-up on their own (the web process warms Prefect in the background).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.web import CSRF, log, percentiles, serve, sign_in

REPO = Path(__file__).resolve().parent.parent
TARGET_P95_S = 1.0
DRAWN = re.compile(r'name="drawn" value="(\d+)"')
STEPS: tuple[tuple[str, dict[str, str]], ...] = (
    ("rotate", {}),
    ("close", {"reason": "benchmark: the work is done", "notice_days": "14"}),
    ("continue", {}),
)


def convenors(db_path: str, count: int) -> list[tuple[str, str]]:
    """(address, slug) of the convenors of `count` active CoPs, each person once."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT p.email, c.slug FROM membership m JOIN person p ON p.id = m.person_id "
            "JOIN community c ON c.id = m.community_id WHERE m.is_convenor AND m.left_on IS NULL "
            "AND c.stage = 'active' ORDER BY c.id").fetchall()
    chosen: dict[str, str] = {}
    for email, slug in rows:
        chosen.setdefault(email, slug)
    pairs = list(chosen.items())
    step = max(1, len(pairs) // count)
    return pairs[::step][:count]


async def one_convenor(client: httpx.AsyncClient, slug: str, out: dict[str, list[float]],
                       errors: list[str], think: float = 0.0, jitter: random.Random | None = None) -> None:
    for decision, fields in STEPS:
        form = await client.get(f"/cops/{slug}/decide/{decision}")
        token, drawn = CSRF.search(form.text), DRAWN.search(form.text)
        if form.status_code != 200 or token is None or drawn is None:
            errors.append(f"GET {decision} form: {form.status_code}")
            return
        if think > 0 and jitter is not None:  # reading the confirmation before pressing
            await asyncio.sleep(jitter.uniform(0.5 * think, 1.5 * think))
        started = time.perf_counter()
        answer = await client.post(f"/cops/{slug}/decide/{decision}",
                                   data={"csrf_token": token.group(1), "drawn": drawn.group(1), **fields})
        took = time.perf_counter() - started
        out[decision].append(took)
        out["all"].append(took)
        if answer.status_code != 200:
            errors.append(f"POST {decision}: {answer.status_code} {answer.text[-300:]!r}")
            return


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) of a process and every process under it, from /proc (Linux)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        pid = int(stat.parent.name)
        parents[pid], times[pid] = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
    mine = {root}
    for _ in range(4):  # a few generations: the web process, the local Prefect API it starts
        mine |= {pid for pid, parent in parents.items() if parent in mine}
    return sum(times.get(pid, 0.0) for pid in mine)


async def one_run(clients: list[httpx.AsyncClient], slugs: list[str], at_once: int, think: float,
                  pid: int) -> dict[str, Any]:
    """These convenors decide, `at_once` of them at a time, each pausing `think` s (on average)
    on the confirmation before pressing; 0 presses at once, for the ceiling."""
    out: dict[str, list[float]] = {"all": [], **{d: [] for d, _ in STEPS}}
    errors: list[str] = []
    gate, seeds = asyncio.Semaphore(at_once), random.Random(11)  # the same pauses in every run

    async def paced(client: httpx.AsyncClient, slug: str, jitter: random.Random) -> None:
        async with gate:
            await one_convenor(client, slug, out, errors, think, jitter)

    started, cpu = time.perf_counter(), cpu_seconds(pid)
    await asyncio.gather(*(paced(c, slug, random.Random(seeds.random()))
                           for c, slug in zip(clients, slugs, strict=True)))
    wall, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
    every = percentiles(out["all"])
    return {"convenors": len(clients), "at_once": at_once, "think_s": think, "wall_s": round(wall, 2),
            "decisions_per_s": round(len(out["all"]) / wall, 2) if wall else None,
            "cpu_ms_per_decision": round(cpu * 1000 / max(1, len(out["all"])), 1),
            "decisions": every, **{d: percentiles(out[d]) for d, _ in STEPS},
            "errors": len(errors), "error_sample": errors[:5],
            "ok": every.get("p95_ms", 1e9) < TARGET_P95_S * 1000 and not errors}


async def load(base: str, db_path: str, count: int, at_once: int, pid: int, think: float,
               ceiling_at_once: int) -> dict[str, Any]:
    """The first decision after start-up alone; then the judged run, paced as people decide;
    then (with other convenors) the ceiling: `ceiling_at_once` pressing with no pause, not judged."""
    people = convenors(db_path, 1 + count + (count if ceiling_at_once else 0))
    log(f"decisions: signing in {len(people)} convenors (not timed)")
    clients = [await sign_in(base, db_path, email, 5000 + n) for n, (email, _) in enumerate(people)]
    for c in clients:  # the first decision may wait for the web process's start-up warming
        c.timeout = httpx.Timeout(300)
    first: dict[str, list[float]] = {"all": [], **{d: [] for d, _ in STEPS}}
    errors: list[str] = []
    started = time.perf_counter()
    await one_convenor(clients[0], people[0][1], first, errors)  # after start-up: apart, not judged
    first_s = first["all"][0] if first["all"] else None
    log(f"decisions: first convenor's three took {time.perf_counter() - started:.1f} s; "
        f"{count} convenors, {at_once} at once, thinking {think:g} s")
    judged = await one_run(clients[1:1 + count], [s for _, s in people[1:1 + count]], at_once, think, pid)
    ceiling = None
    if ceiling_at_once and len(people) > 1 + count:
        log(f"decisions: the ceiling, {ceiling_at_once} at once with no pause (not judged)")
        rest = people[1 + count:]
        ceiling = await one_run(clients[1 + count:], [s for _, s in rest], ceiling_at_once, 0.0, pid)
    for c in clients:
        await c.aclose()
    judged["errors"] += len(errors)
    judged["error_sample"] = (errors + judged["error_sample"])[:5]
    judged["ok"] = judged["ok"] and not errors
    return {**judged, "first_decision_ms": round(first_s * 1000, 1) if first_s is not None else None,
            "first_convenor_ms": [round(t * 1000, 1) for t in first["all"]], "ceiling": ceiling}


def run_decisions(url: str, home: Path, count: int = 20, at_once: int = 2,
                  prefect: dict[str, str] | None = None, think: float = 1.0,
                  ceiling_at_once: int = 4) -> dict[str, Any]:
    """Serve this database (a sqlite:/// URL of a fresh copy) with one web process, and decide."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {**os.environ, "COPFLOW_HOME": str(home), "COPFLOW_DATABASE_URL": url, "COPFLOW_EMAIL_TRANSPORT": "file",
           "COPFLOW_WEB_URL": f"http://127.0.0.1:{port}", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           **(prefect or {})}
    if prefect is None:  # the embedded defaults: the web process starts its own local Prefect API
        env.pop("PREFECT_API_URL", None)
        env["PREFECT_HOME"] = str(home / "prefect")
    process = serve(env, port, home, workers=1)
    try:
        result = asyncio.run(load(f"http://127.0.0.1:{port}", url.removeprefix("sqlite:///"), count, at_once,
                                   process.pid, think, ceiling_at_once))
        return {**result, "prefect": "server" if prefect else "embedded", "load_average": os.getloadavg()}
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the web process (Ctrl-C, as a person would) and the local Prefect API it started."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def table(results: list[dict[str, Any]], n: int) -> str:
    yes = {True: "yes", False: "NO"}
    load = results[-1]["load_average"][0] if results else 0.0
    lines = [f"web decisions: convenors of distinct CoPs at N={n:,} each rotate, close, continue "
             f"(one web process; from the click to the outcome page; load average {load:.1f} on "
             f"{os.cpu_count()} cores; CPU: the web process and the local API it starts)",
             "| Prefect | decisions | at once, pause before pressing | p50 | p95 | p99 | CPU per decision "
             "| errors | target (p95) | met |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|"]
    for r in results:
        d = r["decisions"]
        lines.append(f"| {r['prefect']} | {d.get('count', 0)} | {r['at_once']}, {r['think_s']:g} s | "
                     f"{d.get('p50_ms')} ms | {d.get('p95_ms')} ms | {d.get('p99_ms')} ms | "
                     f"{r['cpu_ms_per_decision']} ms | {r['errors']} | "
                     f"< {TARGET_P95_S * 1000:.0f} ms | {yes[r['ok']]} |")
    for r in results:
        lines.append(f"- {r['prefect']}: the first convenor after start-up, alone: "
                     + ", ".join(f"{ms:.0f} ms" for ms in r["first_convenor_ms"])
                     + " (rotate, close, continue; not judged: the first may wait for Prefect's start)")
        c = r.get("ceiling")
        if c:
            d = c["decisions"]
            lines.append(f"- {r['prefect']}: the ceiling, {c['at_once']} pressing at once with no pause (not "
                         f"judged): {c['decisions_per_s']} decisions/s, p50 {d.get('p50_ms')} ms, p95 "
                         f"{d.get('p95_ms')} ms, {c['errors']} errors")
    return "\n".join(lines)


def measure(data: Any, n: int, home: Path, server_env: dict[str, str] | None, count: int,
            at_once: int, think: float = 1.0, ceiling_at_once: int = 4) -> list[dict[str, Any]]:
    """Embedded, then through the server when one is given; each on a fresh copy of the data."""
    results = [run_decisions(data.fresh(n), home / "embedded", count, at_once, None, think, ceiling_at_once)]
    if server_env is not None:
        results.append(run_decisions(data.fresh(n), home / "server", count, at_once, server_env, think,
                                     ceiling_at_once))
    return results


def main(argv: list[str] | None = None) -> int:
    from bench.prefect_server import PrefectServer
    from bench.run import Data

    parser = argparse.ArgumentParser(prog="python -m bench.web_decisions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="CoPs in the database (default 1000)")
    parser.add_argument("--convenors", type=int, default=20, help="convenors deciding (distinct CoPs)")
    parser.add_argument("--at-once", type=int, default=2, help="convenors deciding at the same time")
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds on the confirmation before pressing, on average (0.5-1.5x; default 1)")
    parser.add_argument("--ceiling-at-once", type=int, default=4,
                        help="convenors pressing at once with no pause, for the ceiling (0: skip)")
    parser.add_argument("--no-server", action="store_true", help="embedded defaults only")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("BENCH_DATA", "/tmp/copflow-bench")))
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "web-decisions.json")
    args = parser.parse_args(argv)
    data, home = Data(args.data), args.data / "web-decisions"
    if args.no_server:
        results = measure(data, args.n, home, None, args.convenors, args.at_once, args.think,
                          args.ceiling_at_once)
    else:
        with PrefectServer(args.data / "prefect-decisions") as server:
            results = measure(data, args.n, home, server.env(), args.convenors, args.at_once, args.think,
                              args.ceiling_at_once)
    print(table(results, args.n))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"n": args.n, "runs": results}, indent=2))
    return 0 if all(r["errors"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
