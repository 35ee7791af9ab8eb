"""What the benchmark runs: each flow, and its bare baseline.

A baseline does the same work as its flow — the same queries, rendering and SMTP sends, by
calling the very functions the flow's tasks call — in a plain Python loop, without Prefect.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

Run = Callable[[date], dict[str, Any]]


def seen(result: Any) -> int:
    """CoPs a flow went through: a run over every CoP counts them, and names only a few."""
    return result.tally.seen if result.tally is not None else len(result.communities)


def health_flow() -> Run:
    from flows.health import health
    from flows.requests import HealthRequest

    def run(today: date) -> dict[str, Any]:
        result = health(request=HealthRequest(today=today))
        return {"communities": seen(result), "sent": result.sent, "failed": result.failed}

    return run


def health_bare() -> Run:
    from tasks.email.delivery import deliver_pending
    from tasks.email.outbox import pending_ids
    from tasks.storage.db import session_scope
    from tasks.storage.paging import pages
    from tasks.usecases.health import active_slugs, check_page

    def run(today: date) -> dict[str, Any]:
        with session_scope() as db:
            slugs = active_slugs(db)
        outcomes = []
        for page in pages(slugs):
            with session_scope() as db:  # as the flow's task: a page in one transaction
                outcomes += check_page(db, page, flow_run_id="bare", today=today, figures=False)
        with_email = [o.slug for o in outcomes if o.queued]
        with session_scope() as db:
            ids = pending_ids(db, with_email)
        report = deliver_pending(ids)
        return {"communities": len(outcomes), "sent": len(report.sent), "failed": len(report.failed)}

    return run


def report_flow() -> Run:
    from flows.sponsor_report import ReportRequest, sponsor_report

    def run(today: date) -> dict[str, Any]:
        result = sponsor_report(request=ReportRequest(today=today))
        return {"communities": seen(result), "sent": result.sent, "failed": result.failed}

    return run


def report_bare() -> Run:
    from sqlalchemy import select

    from models.db.tables import Community
    from tasks.email.delivery import deliver_pending
    from tasks.email.outbox import pending_ids
    from tasks.storage.db import session_scope
    from tasks.storage.paging import pages
    from tasks.storage.settings import get_settings
    from tasks.usecases.sponsor_reports import page_markdown, queue_each

    def run(today: date) -> dict[str, Any]:
        with session_scope() as db:
            slugs = list(db.scalars(select(Community.slug).order_by(Community.slug)))
        queued = 0
        for page in pages(slugs):
            lines = []
            for outcome, built, _ in queue_each(page, today=today, flow_run_id="bare"):
                queued += len(outcome.queued)
                lines += built
            page_markdown(page, lines)  # the flow's page copy, rendered but not sent to an API
        with session_scope() as db:  # as the flow: these CoPs' rows, not the whole outbox
            ids = pending_ids(db, slugs)
        report = deliver_pending(ids, get_settings())
        return {"communities": len(slugs), "queued": queued, "sent": len(report.sent),
                "failed": len(report.failed)}

    return run


LOADERS: dict[tuple[str, str], Callable[[], Run]] = {
    ("health", "flow"): health_flow, ("health", "bare"): health_bare,
    ("report", "flow"): report_flow, ("report", "bare"): report_bare,
}


def _minimal(workload: str) -> Callable[[], Run]:
    def loader() -> Run:
        from bench import minimal

        return minimal.report() if workload == "report" else minimal.health()

    return loader


LOADERS.update({(w, "minimal"): _minimal(w) for w in ("health", "report")})


def load(workload: str, mode: str) -> Run:
    """Import everything the run needs (not timed) and return it."""
    return LOADERS[(workload, mode)]()


def cli_commands(repeat: int) -> list[tuple[str, str, list[str], int]]:
    """(kind, name, argv, runs): read-only commands on stored records, and one flow command."""
    slug = "cop-00001"
    return [
        ("read", "community show", ["community", "show", slug], repeat),
        ("read", "community show --json", ["community", "show", slug, "--json"], repeat),
        ("read", "audit", ["audit", slug], repeat),
        ("read", "health SLUG --stored --json", ["health", slug, "--stored", "--json"], repeat),
        ("mutating", "health SLUG (through copflow serve)", ["health", slug, "--today", "2027-04-02"], max(repeat, 5)),
    ]
