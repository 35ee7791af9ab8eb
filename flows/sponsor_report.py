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


@task(name="queue-sponsor-reports", task_run_name="reports for {slug}", cache_policy=NO_CACHE)
def queue_reports(slug: str, today: date, run_id: str | None) -> CommunityReports:
    """Build what is due for one CoP, queue it to its sponsors, and leave a copy for operations."""
    from tasks.community_store import get_community
    from tasks.db import session_scope
    from tasks.sponsor_reports import (
        REPORTING_STAGES,
        next_report,
        queue_due_reports,
        report_markdown,
        reports_built_by,
    )

    with session_scope() as db:
        community = get_community(db, slug)
        keys = queue_due_reports(db, community, today=today, flow_run_id=run_id)
        built = reports_built_by(db, community, run_id) if run_id else []
        result = CommunityReports(slug=slug, stage=community.stage, queued=len(keys),
                                  periods=[f"{r.figures['period_label']}" for r in built])
        if community.stage in REPORTING_STAGES:
            period, due_on = next_report(community, today)
            result.next_period, result.next_due_on = period.label, due_on
        artifacts = [(r.period_start, report_markdown(community, r)) for r in built]
    for period_start, markdown in artifacts:
        create_markdown_artifact(
            key=f"sponsor-report-{slug}-{period_start.isoformat()}",
            markdown=markdown,
            description=f"Sponsor report for {slug}, period starting {period_start}",
        )
    return result


def _run_name() -> str:
    request = flow_run.parameters.get("request")
    slug = request.get("slug") if isinstance(request, dict) else getattr(request, "slug", None)
    return f"sponsor-report: {slug or 'all'}"


@flow(name="sponsor-report", flow_run_name=_run_name)
def sponsor_report(request: ReportRequest) -> ReportSummary:
    today = request.today or date.today()
    run_id = str(flow_run.id) if flow_run.id else None
    results = [queue_reports(slug, today, run_id) for slug in communities_in_scope(request.slug)]
    # Deliver everything due: this run's reports and anything an earlier run left to retry.
    delivery: dict[str, Any] = deliver_emails(None, label="sponsor reports and retries")
    return ReportSummary(
        today=today, communities=results, sent=len(delivery["sent"]), failed=len(delivery["failed"]),
        waiting=len(delivery["deferred"]), delivery_stopped=delivery["stopped"],
    )
