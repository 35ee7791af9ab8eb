"""The sponsor-report flow: for each CoP whose report period has ended, one report to each sponsor, once."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.requests import CommunityReports, ReportRequest, ReportSummary
from tasks.email_tasks import deliver_emails
from tasks.storage.paging import pages


@task(name="list-communities", cache_policy=NO_CACHE)
def communities_in_scope(slug: str | None) -> list[str]:
    from sqlalchemy import select

    from models.db.tables import Community
    from tasks.storage.db import session_scope
    from tasks.storage.queries import get_community

    with session_scope() as db:
        if slug is not None:
            return [get_community(db, slug).slug]
        return list(db.scalars(select(Community.slug).order_by(Community.slug)))


@task(name="queue-sponsor-reports", task_run_name="reports for {slugs[0]} and {more} more",
      cache_policy=NO_CACHE)
def queue_reports(slugs: list[str], today: date, run_id: str | None, more: int = 0,
                  one_cop: bool = False) -> list[CommunityReports]:
    """Build what is due for a page of CoPs, queue it to their sponsors, and leave a copy for operations.

    A run over every CoP leaves one unkeyed artifact for the page (a table, one line per report):
    a handful of API calls per run, not one per report. A run for one CoP leaves each report's
    full copy under its own key, where looking that CoP up by key is useful.
    """
    from tasks.usecases.sponsor_reports import (
        ReportLine,
        page_markdown,
        queue_each,
        report_description,
    )

    results: list[CommunityReports] = []
    lines: list[ReportLine] = []  # this page's only: memory stays flat however many CoPs there are
    for result, built, copies in queue_each(slugs, today=today, flow_run_id=run_id, full_copies=one_cop):
        results.append(CommunityReports(**result))
        lines += built
        for start, text in copies:
            create_markdown_artifact(key=f"sponsor-report-{result['slug']}-{start.isoformat()}",
                                     markdown=text, description=report_description(result["slug"], start))
    if not one_cop:
        # Unkeyed: a page's CoPs shift as CoPs come and go, so a key's history would mix them.
        markdown, description = page_markdown(slugs, lines)
        create_markdown_artifact(markdown=markdown, description=description)
    return results


def _run_name() -> str:
    request = flow_run.parameters.get("request")
    slug = request.get("slug") if isinstance(request, dict) else getattr(request, "slug", None)
    return f"sponsor-report: {slug or 'all'}"


@flow(name="sponsor-report", flow_run_name=_run_name)
def sponsor_report(request: ReportRequest) -> ReportSummary:
    today = request.today or date.today()
    run_id = str(flow_run.id) if flow_run.id else None
    results: list[CommunityReports] = []
    for page in pages(communities_in_scope(request.slug)):
        results += queue_reports(page, today, run_id, more=len(page) - 1, one_cop=request.slug is not None)
    # Deliver everything due: this run's reports and anything an earlier run left to retry.
    delivery: dict[str, Any] = deliver_emails(None, label="sponsor reports and retries")
    return ReportSummary(
        today=today, communities=results, sent=len(delivery["sent"]), failed=len(delivery["failed"]),
        waiting=len(delivery["deferred"]), delivery_stopped=delivery["stopped"],
    )
