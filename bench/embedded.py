"""A convenor's command on the embedded defaults: `copflow launch` with no Prefect server configured.

    python -m bench.embedded --runs 3      # alone (also part of `make bench`)

A fresh COPFLOW_HOME (SQLite file, file outbox) and its own PREFECT_HOME. Each timed command
launches a CoP of its own (created beforehand, not timed). Three ways, in one run:
- first call: no local Prefect server running (stopped before, not timed): the command starts it;
- warm call: the local server is running, started by an earlier command;
- ephemeral (before): COPFLOW_LOCAL_SERVER=off, Prefect's ephemeral API started in the command.
Wall time of the whole command (process start to exit) and the CPU time of its processes (user +
system; the ephemeral API is one of them, the background local server is not), median of the
runs; and the load average, since on a shared machine wall time is mostly waiting for a core.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
COPFLOW = str(Path(sys.executable).parent / "copflow")
CHARTER = REPO / "examples" / "aaot-charter.yaml"
CONVENOR = "dana@example.nhs.uk"
TARGET_S = 3.0


def log(message: str) -> None:
    print(f"[bench embedded {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Embedded:
    def __init__(self, root: Path) -> None:
        self.root, self.count = root, 0
        home = root / "home"
        home.mkdir(parents=True, mode=0o700)
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("COPFLOW_", "PREFECT_"))}
        self.env = {**keep, "COPFLOW_HOME": str(home), "PREFECT_HOME": str(root / "prefect"),
                    "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        self.copflow("init")

    def copflow(self, *args: str, **extra: str) -> tuple[float, float]:
        """Run a command; (wall seconds, CPU seconds of the command's own process)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([COPFLOW, *args], env={**self.env, **extra}, cwd=self.root,
                              capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"copflow {' '.join(args)} failed: {done.stderr.strip()}")
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    def launch(self, **extra: str) -> tuple[float, float]:
        """Launch a CoP made for this call (the making is not timed)."""
        self.count += 1
        charter = self.root / f"charter-{self.count}.yaml"
        text = CHARTER.read_text()
        charter.write_text(text.replace("slug: aaot", f"slug: cop-{self.count}", 1)
                           .replace("name: ", f"name: Bench {self.count} ", 1))
        self.copflow("community", "create", str(charter))
        return self.copflow("launch", f"cop-{self.count}", "--as", CONVENOR, **extra)


def _figures(runs: list[tuple[float, float]]) -> dict[str, Any]:
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    return {"median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3),
            "max_s": round(max(walls), 3), "cpu_s": round(statistics.median(cpus), 3), "runs": len(runs)}


def measure(root: Path, runs: int, warm_runs: int, ephemeral_runs: int) -> dict[str, Any]:
    bench = Embedded(root)
    load_before = os.getloadavg()
    first, warm, ephemeral = [], [], []
    try:
        for _ in range(runs):
            bench.copflow("server", "stop")
            first.append(bench.launch())
            log(f"first call {first[-1][0]:.2f} s (cpu {first[-1][1]:.2f} s)")
        for _ in range(warm_runs):
            warm.append(bench.launch())
            log(f"warm call {warm[-1][0]:.2f} s (cpu {warm[-1][1]:.2f} s)")
        bench.copflow("server", "stop")
        for _ in range(ephemeral_runs):
            ephemeral.append(bench.launch(COPFLOW_LOCAL_SERVER="off"))
            log(f"ephemeral API (before) {ephemeral[-1][0]:.2f} s (cpu {ephemeral[-1][1]:.2f} s)")
    finally:
        bench.copflow("server", "stop")
    result = {"command": "copflow launch SLUG --as EMAIL", "first": _figures(first), "warm": _figures(warm),
              "load_average_before": [round(x, 2) for x in load_before],
              "load_average_after": [round(x, 2) for x in os.getloadavg()], "target_s": TARGET_S}
    if ephemeral:
        result["ephemeral"] = _figures(ephemeral)
    result["ok"] = result["warm"]["median_s"] < TARGET_S
    return result


def table(figures: dict[str, Any]) -> str:
    yes = {True: "yes", False: "NO"}
    rows = [("first call (starts the local Prefect server)", figures["first"], ""),
            ("warm call (local server running)", figures["warm"],
             f"< {figures['target_s']} s | {yes[figures['ok']]}")]
    if "ephemeral" in figures:
        rows.append(("before: Prefect's ephemeral API in the command", figures["ephemeral"], ""))
    lines = [f"embedded defaults: {figures['command']}, load average {figures['load_average_before'][0]:.1f} "
             f"before and {figures['load_average_after'][0]:.1f} after",
             "", "| call | median | min | max | CPU of the command's processes | target | met |",
             "|---|---:|---:|---:|---:|---:|:-:|"]
    for name, f, target in rows:
        lines.append(f"| {name} (median of {f['runs']}) | {f['median_s']:.2f} s | {f['min_s']:.2f} s | "
                     f"{f['max_s']:.2f} s | {f['cpu_s']:.2f} s | {target or ' | '} |")
    return "\n".join(lines)


def section(args: argparse.Namespace, result: dict[str, Any]) -> str:
    """For `make bench` (bench/run.py): measure under its data folder, keep the figures in its
    result, and return the table to add (BENCH_EMBEDDED_RUNS first calls, default 3; 0 skips)."""
    runs = int(os.environ.get("BENCH_EMBEDDED_RUNS", 3))
    if not runs:
        return ""
    log(f"embedded defaults: {runs} first calls, {runs + 2} warm calls, {runs} on the ephemeral API")
    result["embedded"] = figures = measure(fresh(args.data / "embedded"), runs, runs + 2, runs)
    return f"\n\n{table(figures)}"


def fresh(root: Path) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embedded", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="first calls (and ephemeral ones); warm calls: runs + 2")
    parser.add_argument("--no-ephemeral", action="store_true", help="skip the ephemeral API (before) figures")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("BENCH_DATA", "/tmp/copflow-bench")))
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    figures = measure(fresh(args.data / "embedded"), args.runs, args.runs + 2, 0 if args.no_ephemeral else args.runs)
    print(table(figures))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
