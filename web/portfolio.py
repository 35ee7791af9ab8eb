"""The programme portfolio: every CoP at once, for programme staff (COPFLOW_PROGRAMME_STAFF). Read-only.

The figures are `copflow portfolio`'s (tasks/usecases/portfolio.py), read the same way. Anyone
not listed gets the same 404 as a page that does not exist.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from models.lifecycle import Stage
from tasks.storage.db import read_scope
from tasks.usecases import sign_in as auth
from web import heap
from web.charts import sparkline
from web.pages import page
from web.signin import signed_in

router = APIRouter()

# What a row may be filtered by, besides its stage: each a question about the row.
SIGNALS = ("cadence-missed", "attendance-falling", "fidelity-gaps", "overdue-tasks", "report-due")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run a cell starting so
COLUMNS = ("slug", "name", "stage", "days_in_stage", "in_stage_since", "cadence", "cadence_kept",
           "sessions_held", "recent_attendance", "attendance_trend", "fidelity_met", "fidelity_of",
           "fidelity_not_met", "fidelity_not_yet_known", "open_tasks", "overdue_tasks",
           "sponsor_report_due_now", "next_sponsor_report", "next_sponsor_report_due_on")


def is_programme_staff(viewer: auth.Viewer | None) -> bool:
    from tasks.storage.settings import get_settings

    return viewer is not None and viewer.email.strip().lower() in get_settings().programme_staff_emails


def signals_of(row: dict[str, Any]) -> set[str]:
    """Which of SIGNALS this portfolio row shows."""
    report = row["next_report"]
    found = {"cadence-missed": row["cadence_kept"] is False,
             "attendance-falling": row["attendance_trend"] == "falling",
             "fidelity-gaps": bool(row["fidelity"]["not_met"]),
             "overdue-tasks": row["overdue_tasks"] > 0,
             "report-due": bool(report and report["due_now"])}
    return {name for name, on in found.items() if on}


def _filters(request: Request) -> tuple[str, str] | None:
    """The stage and signal asked for ("" for any); None when either is not one we know."""
    stage, signal = request.query_params.get("stage", ""), request.query_params.get("signal", "")
    if stage not in {"", *(s.value for s in Stage)} or signal not in {"", *SIGNALS}:
        return None
    return stage, signal


def _view(request: Request) -> tuple[dict[str, Any], tuple[str, str]] | Response:
    """The portfolio, filtered, for programme staff; otherwise the answer to give instead."""
    from tasks.usecases.portfolio import portfolio

    with read_scope() as db:  # who, and everything the page shows, in one read
        me = signed_in(request, db)
        view = portfolio(db, date.today()) if is_programme_staff(me) else None
    if view is None:
        return page(request, "error.html", 404, title_key="not-found")
    filters = _filters(request)
    if filters is None:
        return page(request, "error.html", 400, title_key="bad-request")
    stage, signal = filters
    view["shown"] = [row for row in view["communities"]
                     if (not stage or row["stage"] == stage) and (not signal or signal in signals_of(row))]
    return view, filters


@router.get("/portfolio")
def portfolio_page(request: Request) -> Response:
    with heap.collector_paused():  # a thousand CoPs' short-lived objects: see web/heap.py
        return _portfolio_page(request)


def _portfolio_page(request: Request) -> Response:
    found = _view(request)
    if isinstance(found, Response):
        return found
    view, (stage, signal) = found
    for row in view["shown"]:
        row["spark"] = sparkline(row["recent_attendance"])
    from tasks.usecases.fidelity import titles

    return page(request, "portfolio.html", p=view, stage=stage, signal=signal, signals=SIGNALS,
                stages=[s.value for s in Stage], query=request.url.query, titles=titles())


def safe_cell(value: object) -> str:
    """A cell as text a spreadsheet shows and never runs: one starting like a formula gets a '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_row(row: dict[str, Any]) -> list[str]:
    from tasks.usecases.fidelity import titles

    f, report, names = row["fidelity"], row["next_report"] or {}, titles()
    values = [row["slug"], row["name"], row["stage"], row["days_in_stage"], row["in_stage_since"], row["cadence"],
              {True: "kept", False: "missed"}.get(row["cadence_kept"], ""), row["sessions_held"],
              " ".join(str(n) for n in row["recent_attendance"]), row["attendance_trend"], f["met"], f["of"],
              "; ".join(names.get(k, k) for k in f["not_met"]),
              "; ".join(names.get(k, k) for k in f["not_yet_known"]), row["open_tasks"], row["overdue_tasks"],
              "; ".join(report.get("due_now", [])), report.get("next_period", ""), report.get("due_on", "")]
    return [safe_cell(v) for v in values]


@router.get("/portfolio.csv")
def portfolio_csv(request: Request) -> Response:
    with heap.collector_paused():
        return _portfolio_csv(request)


def _portfolio_csv(request: Request) -> Response:
    found = _view(request)
    if isinstance(found, Response):
        return found
    view, _ = found
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(csv_row(row) for row in view["shown"])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="copflow-portfolio-{view["today"]}.csv"'})
