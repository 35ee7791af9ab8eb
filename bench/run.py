"""The copflow benchmark: flows against a bare baseline on the same data, in one run.

    make bench                      # N=1,000 (statements also at N=100, peak RSS also at N=10,000)
    make bench BENCH_N=200 BENCH_LARGE=0

Starts an SMTP server (aiosmtpd) and a Prefect server on loopback (start-up not timed),
generates the synthetic CoPs once per N (bench/generate.py), and for each measurement copies
that database fresh, so every run sees the same due reports and health checks. Each run is
its own process (bench/measure.py): wall time of the run, peak RSS, SQL statements. Prints a
table and writes the figures to JSON (default bench/results/latest.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import limit
from bench.embedded import section as embedded_section
from bench.generate import BENCH_TODAY
from bench.prefect_server import PrefectServer
from bench.smtp_sink import SmtpSink

REPO = Path(__file__).resolve().parent.parent
TARGETS = {"flow_over_bare": 1.25, "rss_large_over_n": 1.2, "read_command_s": 0.5,
           "mutating_command_s": 3.0}


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


class Data:
    """Generated databases, one per N, and a fresh working copy for each run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.work = folder / "work.db"

    def snapshot(self, n: int) -> Path:
        path = self.folder / f"cops-{n}.db"
        if path.exists():
            return path
        log(f"generating {n} CoPs")
        partial = path.with_suffix(".partial")
        for leftover in partial.parent.glob(partial.name + "*"):
            leftover.unlink()
        started = time.perf_counter()
        env = {**os.environ, "COPFLOW_DATABASE_URL": f"sqlite:///{partial}"}
        code = ("import sys; from tasks.storage.db import upgrade, engine; from bench.generate import generate;"
                "upgrade(); e = engine(); print(generate(e, int(sys.argv[1]))); e.dispose()")
        subprocess.run([sys.executable, "-c", code, str(n)], env=env, cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        for suffix in ("-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        partial.rename(path)
        log(f"generated {n} CoPs in {time.perf_counter() - started:.1f} s")
        return path

    def fresh(self, n: int) -> str:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.work}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.snapshot(n), self.work)
        return f"sqlite:///{self.work}"


class Bench:
    def __init__(self, data: Data, sink: SmtpSink, server: PrefectServer, home: Path) -> None:
        self.data, self.sink, self.server, self.home = data, sink, server, home
        self.runs: list[dict[str, Any]] = []

    def env(self, url: str) -> dict[str, str]:
        # The fictional data lives in 2027; its processes may record days up to BENCH_TODAY, as
        # the test suite's do (tests/support/clock): copflow itself never acts in the future.
        clock = {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "tests" / "support" / "clock"),
                                                             os.environ.get("PYTHONPATH")])),
                 "TESTS_COPFLOW_LATEST_DAY": BENCH_TODAY.isoformat()}
        return {**os.environ, **self.sink.env(), **self.server.env(), **clock,
                "COPFLOW_HOME": str(self.home), "COPFLOW_DATABASE_URL": url}

    def measure(self, n: int, workload: str, mode: str) -> dict[str, Any]:
        url = self.data.fresh(n)
        self.sink.counter.take()
        done = subprocess.run(
            [sys.executable, "-m", "bench.measure", workload, mode, "--today", BENCH_TODAY.isoformat()],
            env=self.env(url), cwd=REPO, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"{workload} {mode} at N={n} failed:\n{done.stderr[-4000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result.update(n=n, smtp_received=self.sink.counter.take())
        self.runs.append(result)
        log(f"N={n:>6} {workload:<6} {mode:<4} {result['seconds']:8.2f} s  "
            f"(cpu {result['cpu_seconds']:7.2f} s) {result['peak_rss_mb']:7.1f} MB  "
            f"{result['statements']:>8} statements  {result['smtp_received']:>6} emails")
        return result

    def cli_latency(self, n: int, repeat: int) -> dict[str, Any]:
        """Read-only commands on stored records, and one flow command against the server."""
        from bench.workloads import cli_commands

        url = self.data.fresh(n)
        env = self.env(url)
        # Stored health records to read: one health run first (not timed here).
        subprocess.run([sys.executable, "-m", "bench.measure", "health", "bare", "--today",
                        BENCH_TODAY.isoformat()], env=env, cwd=REPO, check=True,
                       capture_output=True)
        copflow = str(Path(sys.executable).parent / "copflow")
        figures: dict[str, Any] = {}
        for kind, name, args, times in cli_commands(repeat):
            with (serving(copflow, env, self.home) if kind == "mutating" else nullcontext()):
                if kind == "mutating":  # serve loads the flow's modules on its first run, once
                    subprocess.run([copflow, *args], env=env, cwd=self.home, capture_output=True, timeout=120)
                walls = []
                for _ in range(times):
                    started = time.perf_counter()
                    done = subprocess.run([copflow, *args], env=env, cwd=self.home,
                                          capture_output=True, text=True, timeout=120)
                    walls.append(time.perf_counter() - started)
                    if done.returncode != 0 or "not deployed" in done.stderr:
                        raise RuntimeError(f"copflow {' '.join(args)} failed: {done.stderr.strip()}")
            figures[name] = {"kind": kind, "median_s": round(statistics.median(walls), 3),
                             "min_s": round(min(walls), 3), "max_s": round(max(walls), 3),
                             "runs": times}
            log(f"cli {name:<28} median {statistics.median(walls):.3f} s  min {min(walls):.3f} s")
        return figures


@contextmanager
def serving(copflow: str, env: dict[str, str], home: Path) -> Iterator[None]:
    """`copflow serve` on the benchmark's server, as operations run it (start-up not timed)."""
    log_path = home / "serve.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen([copflow, "serve"], env=env, cwd=home, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        # serve prints its table of deployments once every one is registered
        while "health/daily" not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"copflow serve did not start; see {log_path}")
            time.sleep(0.5)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _runs(runs: list[dict[str, Any]], n: int, workload: str, mode: str) -> list[dict[str, Any]]:
    return [r for r in runs if (r["n"], r["workload"], r["mode"]) == (n, workload, mode)]


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r["seconds"])
    return ordered[(len(ordered) - 1) // 2]


def summarise(bench: Bench, args: argparse.Namespace, cli: dict[str, Any],
              workloads: list[str]) -> dict[str, Any]:
    """Medians of the repeated runs (and their minimum: the run least disturbed by others)."""
    n, small, large = args.n, args.small, args.large
    result: dict[str, Any] = {"flows": {}, "statements_per_cop": {}, "rss": {}, "cli": cli}
    for workload in workloads:
        bare_runs, flow_runs = _runs(bench.runs, n, workload, "bare"), _runs(bench.runs, n, workload, "flow")
        bare, flow = _median_run(bare_runs), _median_run(flow_runs)
        ratio = flow["seconds"] / bare["seconds"]
        best = min(r["seconds"] for r in flow_runs) / min(r["seconds"] for r in bare_runs)
        result["flows"][workload] = {
            "n": n, "runs": len(flow_runs), "bare_s": bare["seconds"], "flow_s": flow["seconds"],
            "bare_min_s": min(r["seconds"] for r in bare_runs),
            "flow_min_s": min(r["seconds"] for r in flow_runs),
            "bare_cpu_s": statistics.median(r["cpu_seconds"] for r in bare_runs),
            "flow_cpu_s": statistics.median(r["cpu_seconds"] for r in flow_runs),
            "ratio": round(ratio, 2), "ratio_of_minimums": round(best, 2),
            "target": TARGETS["flow_over_bare"], "ok": ratio <= TARGETS["flow_over_bare"],
            "bare_rss_mb": max(r["peak_rss_mb"] for r in bare_runs),
            "flow_rss_mb": max(r["peak_rss_mb"] for r in flow_runs),
            "emails_bare": bare["smtp_received"], "emails_flow": flow["smtp_received"],
        }
        per: dict[str, Any] = {}
        sizes = sorted({small, n})
        for size in sizes:
            per[str(size)] = round(_runs(bench.runs, size, workload, "flow")[0]["statements"] / size, 2)
        per["ok"] = per[str(sizes[-1])] <= per[str(sizes[0])]
        result["statements_per_cop"][workload] = per
        if large:
            big = _runs(bench.runs, large, workload, "flow")[0]
            base = result["flows"][workload]["flow_rss_mb"]
            grow = big["peak_rss_mb"] / base
            result["rss"][workload] = {"n": base, "large": big["peak_rss_mb"], "large_n": large,
                                       "ratio": round(grow, 2), "target": TARGETS["rss_large_over_n"],
                                       "ok": grow <= TARGETS["rss_large_over_n"],
                                       "large_flow_s": big["seconds"],
                                       "emails_large": big["smtp_received"]}
    return result


def table(result: dict[str, Any], machine: dict[str, Any]) -> str:
    yes = {True: "yes", False: "NO"}
    lines = [f"copflow benchmark, {machine['when']}: {machine['cpus']} CPUs, Python "
             f"{machine['python']}, {machine['database']}, load average at start "
             f"{machine['load_average_at_start'][0]:.1f}", "",
             "| measure | bare | flow | flow/bare | target | met |", "|---|---:|---:|---:|---:|:-:|"]
    for w, f in result["flows"].items():
        lines.append(f"| {w}: wall time, N={f['n']:,} (median of {f['runs']}) | {f['bare_s']:.2f} s | "
                     f"{f['flow_s']:.2f} s | {f['ratio']:.2f}x | <= {f['target']}x | {yes[f['ok']]} |")
        lines.append(f"| {w}: wall time, N={f['n']:,} (fastest run) | {f['bare_min_s']:.2f} s | "
                     f"{f['flow_min_s']:.2f} s | {f['ratio_of_minimums']:.2f}x | | |")
        lines.append(f"| {w}: CPU time of the process (median) | {f['bare_cpu_s']:.2f} s | "
                     f"{f['flow_cpu_s']:.2f} s | | | |")
        lines.append(f"| {w}: peak RSS | {f['bare_rss_mb']:.0f} MB | {f['flow_rss_mb']:.0f} MB | | | |")
        lines.append(f"| {w}: emails received by the SMTP server | {f['emails_bare']} | {f['emails_flow']} "
                     f"| | equal | {yes[f['emails_bare'] == f['emails_flow']]} |")
    lines += ["", "| measure | smaller N | larger N | target | met |", "|---|---:|---:|---:|:-:|"]
    for w, per in result["statements_per_cop"].items():
        sizes = [k for k in per if k != "ok"]
        lines.append(f"| {w}: SQL statements per CoP (N={int(sizes[0]):,} / N={int(sizes[-1]):,}) | "
                     f"{per[sizes[0]]} | {per[sizes[-1]]} | not growing | {yes[per['ok']]} |")
    for w, r in result["rss"].items():
        lines.append(f"| {w}: flow peak RSS (N={result['flows'][w]['n']:,} / N={r['large_n']:,}) | "
                     f"{r['n']:.0f} MB | {r['large']:.0f} MB ({r['ratio']:.2f}x) | <= {r['target']}x | "
                     f"{yes[r['ok']]} |")
    if result["cli"]:
        lines += ["", "| command | kind | median | min | max | target | met |",
                  "|---|---|---:|---:|---:|---:|:-:|"]
        for name, c in result["cli"].items():
            target = TARGETS["read_command_s" if c["kind"] == "read" else "mutating_command_s"]
            lines.append(f"| copflow {name} | {c['kind']} | {c['median_s']:.3f} s | {c['min_s']:.3f} s | "
                         f"{c['max_s']:.3f} s | < {target} s | {yes[c['median_s'] < target]} |")
    return "\n".join(lines)


def web_section(data: Data, args: argparse.Namespace, home: Path) -> dict[str, Any] | None:
    """copflow web under 50 concurrent signed-in sessions at N (bench/web.py)."""
    if not args.web_sessions:
        return None
    from bench.web import run_web

    log(f"web: {args.web_sessions} concurrent sessions at N={args.n}")
    return run_web(data.fresh(args.n), home / "web", args.web_sessions)


def decisions_section(data: Data, args: argparse.Namespace, home: Path, result: dict[str, Any]) -> str:
    """The convenor's decisions through copflow web, embedded and with a Prefect server of their
    own (bench/web_decisions.py): kept in result, and returned as a table to add."""
    if not args.web_decisions:
        return ""
    from bench.web_decisions import measure
    from bench.web_decisions import table as decisions_table

    log(f"web decisions: {args.web_decisions} convenors at N={args.n}, embedded and with a Prefect server")
    with PrefectServer(args.data / "prefect-decisions") as server:
        result["web_decisions"] = measure(data, args.n, home / "web-decisions", server.env(),
                                          args.web_decisions, at_once=2, think=1.0, ceiling_at_once=4)
    return f"\n\n{decisions_table(result['web_decisions'], args.n)}"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", 1000)),
                        help="CoPs for the timed runs (default 1000)")
    parser.add_argument("--small", type=int, default=100, help="the smaller N for statement counts")
    parser.add_argument("--large", type=int, default=int(os.environ.get("BENCH_LARGE", 10000)),
                        help="the larger N for peak RSS (0: skip)")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 1)),
                        help="timed runs of each kind at N (the median is reported)")
    parser.add_argument("--cli-runs", type=int, default=11, help="runs of each read-only command")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("BENCH_DATA", "/tmp/copflow-bench")),
                        help="where generated databases are kept between runs")
    parser.add_argument("--workloads", default="health,report",
                        help="comma-separated: health, report (default both)")
    parser.add_argument("--web-sessions", type=int, default=50,
                        help="concurrent signed-in sessions for the web section (0: skip; bench/web.py)")
    parser.add_argument("--web-decisions", type=int, default=16,
                        help="convenors taking decisions in the web app (0: skip; bench/web_decisions.py)")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "latest.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)

    workloads = [w for w in args.workloads.split(",") if w]
    data = Data(args.data)
    for size in sorted({args.small, args.n, args.large} - {0}):
        data.snapshot(size)
    machine = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
               "python": platform.python_version(), "platform": platform.platform(),
               "database": "SQLite (file)", "load_average_at_start": os.getloadavg()}
    home = args.data / "home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    log("starting the SMTP sink and a Prefect server (not timed)")
    with SmtpSink() as sink, PrefectServer(args.data / "prefect") as server:
        bench = Bench(data, sink, server, home)
        for workload in workloads:
            bench.measure(args.small, workload, "flow")  # also warms the server up
        for _ in range(args.repeat):
            for workload in workloads:
                bench.measure(args.n, workload, "bare")
                bench.measure(args.n, workload, "flow")
        limit.measure(bench, args.n, args.repeat, workloads)
        if args.large:
            for workload in workloads:
                bench.measure(args.large, workload, "flow")
        cli = bench.cli_latency(args.n, args.cli_runs) if args.cli_runs else {}
    web = web_section(data, args, home)
    machine["load_average_at_end"] = os.getloadavg()
    result = summarise(bench, args, cli, workloads)
    result["web"], text = web, table(result, machine)
    text += limit.section(result, bench.runs, args.n, workloads)
    if web:
        from bench.web import table as web_table

        text += f"\n\n{web_table(web, args.n)}"
    text += decisions_section(data, args, home, result)
    text += embedded_section(args, result)  # a convenor's command on the embedded defaults
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "result": result, "runs": bench.runs,
                                     "table": text}, indent=2, default=str))
    log(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
