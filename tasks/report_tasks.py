"""Prefect tasks of the sponsor-report flow: which CoPs a run covers, and a page of them reported.

A page of CoPs is read and queued in one transaction (tasks/usecases/sponsor_reports.py);
delivery is the `deliver` task every flow uses (tasks/email_tasks.py).
"""

from __future__ import annotations

from datetime import date

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from models.db.tables import Community
from tasks.lifecycle_tasks import PageOutcomes, current_flow_run_id, use_case_task
from tasks.storage.db import session_scope
from tasks.storage.queries import get_community
from tasks.usecases.common import Outcome
from tasks.usecases.sponsor_reports import (
    ReportLine,
    page_markdown,
    queue_each,
    report_description,
)


# A read changes nothing, so a retry is always safe.
@task(name="find-cops-to-report", task_run_name="find: CoPs to report", retries=2, retry_delay_seconds=1,
      cache_policy=NO_CACHE)
def find_cops_to_report(slug: str | None) -> list[str]:
    """The one CoP asked for (an unknown slug is bad input), or every CoP (slug 'all')."""
    with session_scope() as db:
        if slug is not None:
            return [get_community(db, slug).slug]
        return list(db.scalars(select(Community.slug).order_by(Community.slug)))


@use_case_task("queue-sponsor-reports", "reports: {slugs[0]} and {more} more")
def queue_reports(slugs: list[str], *, today: date, one_cop: bool, more: int = 0) -> PageOutcomes:
    """Build what is due for a page of CoPs, queue it to their sponsors, and leave a copy for operations.

    A run over every CoP leaves one unkeyed artifact for the page (a table, one line per report):
    a handful of API calls per run, not one per report. A run for one CoP leaves each report's
    full copy under its own key, where looking that CoP up by key is useful. A retry is safe:
    reports are unique per CoP and period, and each sponsor's copy is keyed in the outbox.
    """
    outcomes: list[Outcome] = []
    lines: list[ReportLine] = []  # this page's only: memory stays flat however many CoPs there are
    for outcome, built, copies in queue_each(slugs, today=today, flow_run_id=current_flow_run_id(),
                                             full_copies=one_cop):
        outcomes.append(outcome)
        lines += built
        for start, text in copies:
            create_markdown_artifact(key=f"sponsor-report-{outcome.slug}-{start.isoformat()}",
                                     markdown=text, description=report_description(outcome.slug, start))
    if not one_cop:
        # Unkeyed: a page's CoPs shift as CoPs come and go, so a key's history would mix them.
        markdown, description = page_markdown(slugs, lines)
        create_markdown_artifact(markdown=markdown, description=description)
    return PageOutcomes(outcomes)
