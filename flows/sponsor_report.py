"""The sponsor-report flow: for each CoP whose report period has ended, one report to each sponsor, once."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, RunResults, finish, run_name
from flows._pages import each_page
from flows.requests import ReportRequest
from tasks.page_tasks import report_page
from tasks.report_tasks import find_cops_to_report, queue_reports
from tasks.storage import operator
from tasks.storage.operator import operated_by
from tasks.storage.paging import pages

__all__ = ["ReportRequest", "sponsor_report"]


@flow(name="sponsor-report", flow_run_name=run_name("sponsor-report"))
def sponsor_report(request: ReportRequest) -> FlowEnd:
    today = request.day()  # never in the future: only periods that have really ended are sent
    with operated_by(request.operator_name(every_cop=request.slug is None)):
        slugs = find_cops_to_report(request.slug)
        # One task per page of CoPs, read and queued in one transaction; a run over every CoP may
        # spread its pages over task workers, each page delivering its own reports.
        results = each_page(
            RunResults("sponsor-report", every_cop=request.slug is None), pages(slugs),
            lambda page: queue_reports(page, today=today, one_cop=request.slug is not None,
                                       more=len(page) - 1),
            None if request.slug is not None else lambda page, run_id, number: report_page.delay(
                page, run_id=run_id, number=number, today=today, operator=operator.current(),
                more=len(page) - 1))
        # Deliver these CoPs' reports, and any a failed or crashed run of them left to retry.
        # Its artifacts are the reports themselves (tasks/report_tasks.py), not a summary.
        return finish("sponsor-report", request.slug or "all", results, deliver_for=slugs,
                      artifact=False)
