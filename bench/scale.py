"""Scale on PostgreSQL: health and sponsor reports at a large N, in one process and spread.

    make bench-scale                                  # N=10,000 and N=100,000 (about two hours)
    scripts/with-postgres.sh .venv/bin/python -m bench.scale --n 10000 --large 100000

For each N the benchmark's CoPs (bench/generate.py, the same rows) are written once into a
template database with COPY, then every run gets its own copy (CREATE DATABASE ... TEMPLATE,
a file copy). Each run is bench/measure.py in its own process against a Prefect server and an
SMTP sink on loopback: the flow in-process (COPFLOW_PAGE_WORKERS unset) at both N, for the peak
RSS ratio; and at the large N also spread over two task workers (`prefect task serve --module
tasks.page_tasks`), for the wall-time ratio. After each run the outbox is read: every row sent,
each once, and the SMTP server received as many messages as the outbox says it sent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.generate import BENCH_TODAY, CHUNK, _rows_for
from bench.prefect_server import PrefectServer
from bench.smtp_sink import SmtpSink

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET_RSS = 1.2  # peak RSS at the large N over that at N, in-process


def log(message: str) -> None:
    print(f"[scale {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _url(base: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(base).set(database=database).render_as_string(hide_password=False)


def _admin(base: str) -> Any:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base).set(drivername="postgresql", database="postgres")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def _copy_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else value


def copy_rows(base: str, database: str, n: int) -> None:
    """The benchmark's N CoPs into a migrated database, a chunk at a time with COPY."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    rng = random.Random(2027)  # as bench.generate.generate: the same rows for the same N
    ids = dict(person=1, membership=1, sponsor=1, session=1, term=1, task=1, audit=1)
    url = make_url(base).set(drivername="postgresql", database=database)
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        order: list[type] = []
        for start in range(0, n, CHUNK):
            batch: dict[type, list[dict[str, Any]]] = {}
            for i in range(start, min(n, start + CHUNK)):
                for table, rows in _rows_for(i, rng, ids).items():
                    batch.setdefault(table, []).extend(rows)
            order = order or list(batch)
            with conn.cursor() as cur:
                for table in order:
                    rows = batch[table]
                    if not rows:
                        continue
                    columns = list(rows[0])
                    name = table.__table__.name  # type: ignore[attr-defined]
                    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                        sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, columns)))
                    with cur.copy(statement) as copy:
                        for row in rows:
                            copy.write_row([_copy_value(row[c]) for c in columns])
            conn.commit()
        with conn.cursor() as cur:  # the rows came with their ids: move each sequence past them
            for table in order:
                name = table.__table__.name  # type: ignore[attr-defined]
                if "id" in table.__table__.c:  # type: ignore[attr-defined]
                    cur.execute(sql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                                        "(SELECT coalesce(max(id), 1) FROM {}))").format(sql.Identifier(name)),
                                (f'"{name}"',))
        conn.commit()


def template(base: str, n: int) -> str:
    """A database holding N CoPs, made once (kept in the cluster between runs of this script)."""
    name = f"copflow_scale_{n}"
    with _admin(base) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return name
        admin.execute(f'CREATE DATABASE "{name}_partial"')
    started = time.perf_counter()
    log(f"generating {n:,} CoPs (COPY)")
    env = {**os.environ, "COPFLOW_DATABASE_URL": _url(base, f"{name}_partial")}
    subprocess.run([sys.executable, "-c", "from tasks.storage.db import upgrade; upgrade()"],
                   env=env, cwd=REPO, check=True)
    copy_rows(base, f"{name}_partial", n)
    with _admin(base) as admin:
        admin.execute(f'ALTER DATABASE "{name}_partial" RENAME TO "{name}"')
    log(f"generated {n:,} CoPs in {time.perf_counter() - started:.0f} s")
    return name


def fresh(base: str, n: int) -> str:
    source = template(base, n)
    with _admin(base) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "copflow_scale_run_{os.getpid()}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "copflow_scale_run_{os.getpid()}" TEMPLATE "{source}"')
    return _url(base, f"copflow_scale_run_{os.getpid()}")


@contextmanager
def task_workers(count: int, env: dict[str, str], logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` task workers serving the page tasks, subscribed before the run starts."""
    workers: list[subprocess.Popen[bytes]] = []
    paths = [logs / f"task-worker-{i}.log" for i in range(count)]
    try:
        for path in paths:
            with path.open("wb") as out:
                workers.append(subprocess.Popen(
                    [str(BIN / "prefect"), "task", "serve", "--module", "tasks.page_tasks"],
                    env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 180
        while not all("Subscribing to runs" in p.read_text(errors="replace") for p in paths):
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise RuntimeError(f"task workers did not start; see {logs}")
            time.sleep(0.5)
        yield workers
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()


def peak_mb(pid: int) -> float:
    """A live process's peak RSS (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_seconds(pid: int) -> float:
    """A live process's CPU time so far (user and system), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


def machine_ticks() -> tuple[int, int]:
    """The machine's CPU ticks so far: (busy, all), from /proc/stat."""
    # user nice system idle iowait irq softirq steal (guest time is already counted in user and nice)
    ticks = [int(t) for t in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


def cores_busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    """How many of the machine's cores were busy on average between two machine_ticks()."""
    busy, every = after[0] - before[0], after[1] - before[1]
    return round(busy / every * (os.cpu_count() or 1), 2) if every else 0.0


def outbox_counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            rows = conn.execute(text("SELECT status, attempts, count(*) FROM outbox_message "
                                     "GROUP BY status, attempts")).all()
    finally:
        eng.dispose()
    return {f"{status}/{attempts}": count for status, attempts, count in rows}


class Scale:
    def __init__(self, base: str, sink: SmtpSink, server: PrefectServer, home: Path) -> None:
        self.base, self.sink, self.server, self.home = base, sink, server, home
        self.runs: list[dict[str, Any]] = []

    def env(self, url: str, workers: int) -> dict[str, str]:
        clock = {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "tests" / "support" / "clock"),
                                                             os.environ.get("PYTHONPATH")])),
                 "TESTS_COPFLOW_LATEST_DAY": BENCH_TODAY.isoformat()}
        return {**os.environ, **self.sink.env(), **self.server.env(), **clock,
                "COPFLOW_HOME": str(self.home), "COPFLOW_DATABASE_URL": url,
                "COPFLOW_PAGE_WORKERS": str(workers)}

    def measure(self, n: int, workload: str, workers: int) -> dict[str, Any]:
        url = fresh(self.base, n)
        env = self.env(url, workers)
        self.sink.counter.take()
        with task_workers(workers, env, self.home) as pool:
            ticks = machine_ticks()
            done = subprocess.run([sys.executable, "-m", "bench.measure", workload, "flow", "--today",
                                   BENCH_TODAY.isoformat()], env=env, cwd=REPO, capture_output=True,
                                  text=True, timeout=4 * 3600)
            # Whether the machine had cores to spare: two workers cannot be faster than the cores.
            busy = cores_busy(ticks, machine_ticks())
            worker_mb = [peak_mb(w.pid) for w in pool]
            worker_cpu = [cpu_seconds(w.pid) for w in pool]
        if done.returncode != 0:
            raise RuntimeError(f"{workload} at N={n} ({workers} workers) failed:\n{done.stderr[-4000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        outbox = outbox_counts(url)
        result.update(n=n, workers=workers, worker_peak_rss_mb=worker_mb, worker_cpu_seconds=worker_cpu,
                      machine_cores_busy=busy, outbox=outbox, smtp_received=self.sink.counter.take())
        result["each_email_once"] = (set(outbox) <= {"sent/1"}
                                     and outbox.get("sent/1", 0) == result["smtp_received"]
                                     == result["summary"]["sent"])
        self.runs.append(result)
        log(f"N={n:>7,} {workload:<6} {workers} workers {result['seconds']:9.1f} s  "
            f"{result['peak_rss_mb']:7.1f} MB (workers {worker_mb})  CPU {result['cpu_seconds']} s "
            f"(workers {worker_cpu})  cores busy {busy}  {result['smtp_received']:>7} emails  "
            f"once: {result['each_email_once']}")
        return result


def summary(runs: list[dict[str, Any]], n: int, large: int, workloads: list[str]) -> dict[str, Any]:
    def one(size: int, workload: str, workers: int) -> dict[str, Any] | None:
        return next((r for r in runs if (r["n"], r["workload"], r["workers"]) == (size, workload, workers)), None)

    figures: dict[str, Any] = {}
    for w in workloads:
        small, big, spread = one(n, w, 0), one(large, w, 0), one(large, w, 2)
        entry: dict[str, Any] = {"n": n, "large": large}
        if small and big:
            entry.update(rss_n_mb=small["peak_rss_mb"], rss_large_mb=big["peak_rss_mb"],
                         rss_ratio=round(big["peak_rss_mb"] / small["peak_rss_mb"], 2),
                         rss_ok=big["peak_rss_mb"] <= TARGET_RSS * small["peak_rss_mb"])
        if big and spread:
            entry.update(one_process_s=big["seconds"], two_workers_s=spread["seconds"],
                         speedup=round(big["seconds"] / spread["seconds"], 2),
                         faster=spread["seconds"] < big["seconds"],
                         worker_peak_rss_mb=spread["worker_peak_rss_mb"],
                         cores_busy=[big.get("machine_cores_busy"), spread.get("machine_cores_busy")])
        entry["each_email_once"] = all(r["each_email_once"] for r in runs if r["workload"] == w)
        entry["emails"] = {f"{r['n']}/{r['workers']}": r["smtp_received"] for r in runs if r["workload"] == w}
        figures[w] = entry
    return figures


def table(figures: dict[str, Any]) -> str:
    yes = {True: "yes", False: "NO"}
    lines = ["| measure | figure | target | met |", "|---|---:|---:|:-:|"]
    for w, f in figures.items():
        if "rss_ratio" in f:
            lines.append(f"| {w}: flow peak RSS, N={f['n']:,} / N={f['large']:,} (in-process) | "
                         f"{f['rss_n_mb']:.0f} MB / {f['rss_large_mb']:.0f} MB ({f['rss_ratio']:.2f}x) | "
                         f"<= {TARGET_RSS}x | {yes[f['rss_ok']]} |")
        if "speedup" in f:
            lines.append(f"| {w}: wall time at N={f['large']:,}, one process / two task workers | "
                         f"{f['one_process_s']:.0f} s / {f['two_workers_s']:.0f} s ({f['speedup']:.2f}x; "
                         f"cores busy {f['cores_busy'][0]} / {f['cores_busy'][1]} of {os.cpu_count()}) | "
                         f"faster spread | {yes[f['faster']]} |")
        lines.append(f"| {w}: every email sent once (outbox = SMTP server), runs {f['emails']} | | "
                     f"once | {yes[f['each_email_once']]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="the smaller N (peak RSS baseline)")
    parser.add_argument("--large", type=int, default=100_000, help="the large N")
    parser.add_argument("--workloads", default="health,report")
    parser.add_argument("--runs", default=None,
                        help="only these runs, as N:workers,... (e.g. 10000:0,100000:2); "
                             "default: --n in one process, --large in one process and over two workers")
    parser.add_argument("--database-url", default=os.environ.get("COPFLOW_TEST_POSTGRES_URL"),
                        help="a PostgreSQL cluster copflow may create databases in "
                             "(default: scripts/with-postgres.sh's COPFLOW_TEST_POSTGRES_URL)")
    parser.add_argument("--data", type=Path, default=Path("/tmp/copflow-bench-scale"))
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "scale.json")
    args = parser.parse_args(argv)
    if not args.database_url:
        print("bench.scale: give --database-url, or run under scripts/with-postgres.sh", file=sys.stderr)
        return 2
    workloads = [w for w in args.workloads.split(",") if w]
    home = args.data / "home"
    home.mkdir(parents=True, exist_ok=True)
    machine = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
               "database": "PostgreSQL", "load_average_at_start": os.getloadavg()}
    with ExitStack() as stack:
        sink = stack.enter_context(SmtpSink())
        server = stack.enter_context(PrefectServer(args.data / "prefect"))
        scale = Scale(args.database_url, sink, server, home)
        runs = ([tuple(int(x) for x in r.split(":")) for r in args.runs.split(",")] if args.runs
                else [(args.n, 0), (args.large, 0), (args.large, 2)])
        for w in workloads:
            for size, workers in runs:
                scale.measure(size, w, workers)
    machine["load_average_at_end"] = os.getloadavg()
    figures = summary(scale.runs, args.n, args.large, workloads)
    text = table(figures)
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "figures": figures, "runs": scale.runs,
                                     "table": text}, indent=2, default=str))
    log(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

