"""The sponsor-report flow: for each CoP whose report period has ended, one report to each sponsor, once."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.requests import CommunityReports, ReportRequest, ReportSummary
from tasks.email_tasks import deliver_emails
from tasks.paging import pages


@task(name="list-communities", cache_policy=NO_CACHE)
def communities_in_scope(slug: str | None) -> list[str]:
    from sqlalchemy import select

    from models.tables import Community
    from tasks.community_store import get_community
    from tasks.db import session_scope

    with session_scope() as db:
        if slug is not None:
            return [get_community(db, slug).slug]
        return list(db.scalars(select(Community.slug).order_by(Community.slug)))


def _save_copy(slug: str, period_start: date, markdown: str) -> None:
    create_markdown_artifact(
        key=f"sponsor-report-{slug}-{period_start.isoformat()}",
        markdown=markdown,
        description=f"Sponsor report for {slug}, period starting {period_start}",
    )


@task(name="queue-sponsor-reports", task_run_name="reports for {slugs[0]} and {more} more",
      cache_policy=NO_CACHE)
def queue_reports(slugs: list[str], today: date, run_id: str | None, more: int = 0) -> list[CommunityReports]:
    """Build what is due for a page of CoPs, queue it to their sponsors, and leave a copy for operations."""
    from tasks.sponsor_reports import queue_each

    results = []
    # The operations copies go to the Prefect API from a few threads while the next CoPs'
    # reports are built (each in this task run's context, so they are linked to it).
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="copflow-artifacts") as pool:
        saving = []
        for result, copies in queue_each(slugs, today=today, flow_run_id=run_id):
            results.append(CommunityReports(**result))
            saving += [pool.submit(contextvars.copy_context().run, _save_copy, result["slug"], start, text)
                       for start, text in copies]
        for done in saving:
            done.result()
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
        results += queue_reports(page, today, run_id, more=len(page) - 1)
    # Deliver everything due: this run's reports and anything an earlier run left to retry.
    delivery: dict[str, Any] = deliver_emails(None, label="sponsor reports and retries")
    return ReportSummary(
        today=today, communities=results, sent=len(delivery["sent"]), failed=len(delivery["failed"]),
        waiting=len(delivery["deferred"]), delivery_stopped=delivery["stopped"],
    )
