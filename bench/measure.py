"""One measurement in its own process, so each peak RSS is its own: `python -m bench.measure`.

    python -m bench.measure health flow --today 2027-04-02

Loads everything first (Prefect too, for a flow), then times the run alone, counts the SQL
statements copflow's engine sent, and prints one JSON line: seconds, peak RSS, statements and
the run's own summary. CPU seconds (this process, all threads) sit beside the wall time: on a
shared machine they show how much of a slow run was waiting for the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from datetime import date


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.measure")
    parser.add_argument("workload", choices=["health", "report"])
    parser.add_argument("mode", choices=["flow", "bare", "minimal"])
    parser.add_argument("--today", type=date.fromisoformat, required=True)
    args = parser.parse_args(argv)

    from bench.counting import StatementCounter
    from bench.workloads import load
    from tasks.storage.db import engine

    eng = engine()
    counter = StatementCounter(eng)
    if os.environ.get("COPFLOW_PAGE_WORKERS", "0") == "0":
        # Not when spread: the wrapper's closure holds the engine (weakrefs), and Prefect pickles
        # the flow's context, functions and all, for each page handed to a task worker.
        counter.during_delivery()
    run = load(args.workload, args.mode)
    with eng.connect():
        pass  # the first connection (and SQLite's pragmas) is set-up, for both modes alike
    with counter:
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        summary = run(args.today)
        seconds = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB
    print(json.dumps({
        "workload": args.workload, "mode": args.mode, "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
        "peak_rss_mb": round(peak_kib / 1024, 1), "statements": counter.count,
        "statements_delivering": counter.delivering, "summary": summary,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
