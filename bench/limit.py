"""The limit, measured: each flow's CPU time against the minimal baseline (bench/minimal.py).

    python -m bench.limit --n 1000 --data /tmp/somewhere   # this section alone (minimal, bare, flow)

CPU time of the measuring process, not wall time: on a shared machine it moves little with the
load. Statements per CoP are split into building and queueing (the use case) and delivering
(each email claimed and marked sent in its own commit, tasks/email/delivery.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

TARGETS = {"flow_over_minimal_cpu": 1.5, "report_statements_per_cop": 5.0}


def measure(bench: Any, n: int, repeat: int, workloads: list[str]) -> None:
    """The minimal baseline's runs at N (the flows' runs at N are the bench's own)."""
    for _ in range(repeat):
        for workload in workloads:
            bench.measure(n, workload, "minimal")


def summarise(runs: list[dict[str, Any]], n: int, workloads: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for workload in workloads:
        mine = [r for r in runs if (r["n"], r["workload"]) == (n, workload)]
        cpu = {mode: statistics.median(r["cpu_seconds"] for r in mine if r["mode"] == mode)
               for mode in ("minimal", "bare", "flow") if any(r["mode"] == mode for r in mine)}
        flow = next(r for r in mine if r["mode"] == "flow")
        ratio = cpu["flow"] / cpu["minimal"]
        building = (flow["statements"] - flow.get("statements_delivering", 0)) / n
        result[workload] = {
            "n": n, "cpu_s": cpu, "flow_over_minimal": round(ratio, 2),
            "bare_over_minimal": round(cpu["bare"] / cpu["minimal"], 2) if "bare" in cpu else None,
            "target": TARGETS["flow_over_minimal_cpu"], "ok": ratio <= TARGETS["flow_over_minimal_cpu"],
            "cpu_ms_per_cop": {mode: round(1000 * s / n, 2) for mode, s in cpu.items()},
            "statements_per_cop": round(flow["statements"] / n, 2),
            "statements_per_cop_building": round(building, 2),
            "statements_per_cop_delivering": round(flow.get("statements_delivering", 0) / n, 2),
            "emails": {mode: next(r["smtp_received"] for r in mine if r["mode"] == mode) for mode in cpu},
        }
    return result


def section(result: dict[str, Any], runs: list[dict[str, Any]], n: int, workloads: list[str]) -> str:
    """The section's figures into the bench's result (as "limit"), and its table as text."""
    result["limit"] = summarise(runs, n, workloads)
    return f"\n\n{table(result['limit'])}"


def table(result: dict[str, Any]) -> str:
    yes = {True: "yes", False: "NO"}
    lines = ["The limit: CPU time against a minimal hand-written loop (bench/minimal.py), medians", "",
             "| measure | minimal | bare | flow | flow/minimal | target | met |",
             "|---|---:|---:|---:|---:|---:|:-:|"]
    for w, f in result.items():
        cpu, per = f["cpu_s"], f["cpu_ms_per_cop"]
        lines.append(f"| {w}: CPU time, N={f['n']:,} | {cpu['minimal']:.2f} s | {cpu.get('bare', 0):.2f} s | "
                     f"{cpu['flow']:.2f} s | {f['flow_over_minimal']:.2f}x | <= {f['target']}x | "
                     f"{yes[f['ok']]} |")
        lines.append(f"| {w}: CPU per CoP | {per['minimal']:.1f} ms | {per.get('bare', 0):.1f} ms | "
                     f"{per['flow']:.1f} ms | | | |")
        lines.append(f"| {w}: emails received | {f['emails']['minimal']} | {f['emails'].get('bare', '')} | "
                     f"{f['emails']['flow']} | | equal | "
                     f"{yes[f['emails']['minimal'] == f['emails']['flow']]} |")
        target = TARGETS["report_statements_per_cop"] if w == "report" else None
        met = yes[f["statements_per_cop_building"] <= target] if target else ""
        lines.append(f"| {w}: flow's SQL statements per CoP: building and queueing / delivering | | | "
                     f"{f['statements_per_cop_building']} / {f['statements_per_cop_delivering']} | | "
                     f"{f'<= {target:g} building' if target else ''} | {met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """This section alone: each workload's minimal, bare and flow runs at N, then the table."""
    from bench.prefect_server import PrefectServer
    from bench.run import Bench, Data, log
    from bench.smtp_sink import SmtpSink

    parser = argparse.ArgumentParser(prog="python -m bench.limit")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind (the median is read)")
    parser.add_argument("--data", type=Path, required=True,
                        help="where cops-N.db is kept (generated when absent) and copied for each run")
    parser.add_argument("--workloads", default="report,health")
    args = parser.parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    data = Data(args.data)
    data.snapshot(args.n)
    home = args.data / "home"
    home.mkdir(parents=True, exist_ok=True)
    log("starting the SMTP sink and a Prefect server (not timed)")
    with SmtpSink() as sink, PrefectServer(args.data / "prefect") as server:
        bench = Bench(data, sink, server, home)
        bench.measure(100 if args.n > 100 else args.n, workloads[0], "flow")  # warms the server up
        bench.runs.clear()
        for _ in range(args.repeat):
            for workload in workloads:
                for mode in ("minimal", "bare", "flow"):
                    bench.measure(args.n, workload, mode)
    print(table(summarise(bench.runs, args.n, workloads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
