"""The sponsor-report flow: for each CoP whose report period has ended, one report to each sponsor, once."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish, run_name
from flows.requests import ReportRequest
from tasks.report_tasks import find_cops_to_report, queue_reports
from tasks.storage.paging import pages
from tasks.usecases.common import Outcome

__all__ = ["ReportRequest", "sponsor_report"]


@flow(name="sponsor-report", flow_run_name=run_name("sponsor-report"))
def sponsor_report(request: ReportRequest) -> FlowEnd:
    today = request.day()
    slugs = find_cops_to_report(request.slug)
    outcomes: list[Outcome] = []
    for page in pages(slugs):  # one task per page of CoPs, each CoP in its own transaction
        outcomes += queue_reports(page, today=today, one_cop=request.slug is not None,
                                  more=len(page) - 1).outcomes
    # Deliver these CoPs' reports, and any a failed or crashed run of them left to retry.
    # Its artifacts are the reports themselves (tasks/report_tasks.py), not a summary.
    return finish("sponsor-report", request.slug or "all", outcomes, deliver_for=slugs, artifact=False)
