"""Pages of a run over every CoP, done by task workers when COPFLOW_PAGE_WORKERS is above 0.

A task worker is a long-lived process serving these tasks (`prefect task serve --module
tasks.page_tasks`, docs/operations.md); the flow hands it each page as a background task run
(`.delay()`), and Prefect gives each run to one worker. A page does its work with the same task
functions the flow calls in-process, then delivers the page's email, so sending spreads too.

A page's parameters are ids only (the CoPs' slugs, the run's id and the page's number), and its
result, which Prefect keeps in result storage, carries no outbox keys (they name addresses):
only how many emails were queued and sent. The result is cached under the run's id and the
page's number, so a page run again in the same flow run (the flow retried, or the page handed
out twice) is read back, not done again; a page task's own retries redo only what its failed
transaction did not commit, and each email is keyed in the outbox as ever.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task

from tasks.email.delivery import DeliveryReport
from tasks.email_tasks import deliver
from tasks.lifecycle_tasks import check_health_page, transient
from tasks.report_tasks import queue_reports
from tasks.run_tally import DeliveryCounts
from tasks.storage.operator import operated_by
from tasks.usecases.common import Outcome

P = ParamSpec("P")
R = TypeVar("R")

QUEUED = "(queued)"  # stands for an outbox key in a page's kept result: counted, never named


@dataclass(frozen=True)
class PageDone:
    """What a page did: its CoPs' outcomes (outbox keys counted, not named) and its email's fate."""

    outcomes: list[Outcome]
    delivered: DeliveryCounts


def page_key(context: Any, parameters: dict[str, Any]) -> str:
    """One cache entry per page of one flow run: the same page asked for again is read back."""
    return f"copflow-{context.task.name}-{parameters['run_id']}-{parameters['number']}"


def _done(outcomes: list[Outcome], report: DeliveryReport) -> PageDone:
    return PageDone(outcomes=[replace(o, queued=[QUEUED] * len(o.queued)) for o in outcomes],
                    delivered=DeliveryCounts.of(report))


def _page_task(name: str, run_name: str) -> Callable[[Callable[P, R]], Task[P, R]]:
    return task(name=name, task_run_name=run_name, retries=2,
                retry_delay_seconds=1, retry_condition_fn=transient, cache_key_fn=page_key,
                cache_expiration=timedelta(days=2), persist_result=True)


@_page_task("health-page", "health page {number}: {slugs[0]} and {more} more")
def health_page(slugs: list[str], *, run_id: str, number: int, today: date,
                operator: str | None, more: int = 0) -> PageDone:
    """Check a page of active CoPs (one transaction, as in-process), then send what it queued."""
    with operated_by(operator):  # the flow's operator (a user name or 'schedule'), as in-process
        outcomes = check_health_page.fn(slugs, today=today, figures=False, more=more).outcomes
    with_email = [o.slug for o in outcomes if o.queued]
    report = deliver.fn(with_email, f"health page {number}") if with_email else DeliveryReport()
    return _done(outcomes, report)


@_page_task("reports-page", "reports page {number}: {slugs[0]} and {more} more")
def report_page(slugs: list[str], *, run_id: str, number: int, today: date,
                operator: str | None, more: int = 0) -> PageDone:
    """Queue a page of CoPs' due sponsor reports, then deliver those CoPs' pending rows."""
    with operated_by(operator):
        outcomes = queue_reports.fn(slugs, today=today, one_cop=False, more=more).outcomes
    return _done(outcomes, deliver.fn(slugs, f"reports page {number}"))
