"""Prefect task: deliver a flow's CoPs' outbox rows, with credentials read from Prefect blocks.

The only email module that touches Prefect: tasks/email/ takes settings already resolved.
Every email that failed or is held shows in the run's log and as a Prefect event
(copflow.email.failed, copflow.email.held), named by outbox id, template and CoP, never by address;
copflow's own loggers reach the run's log too.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.logging.handlers import APILogHandler
from pydantic import SecretStr
from sqlalchemy import select

from models.db.tables import Community
from tasks.email.delivery import DeliveryReport, Problem, deliver_pending
from tasks.email.outbox import pending_ids
from tasks.email.readiness import not_here, standing_in
from tasks.storage.db import session_scope
from tasks.storage.settings import Settings, get_settings

EMAIL_FAILED = "copflow.email.failed"
EMAIL_HELD = "copflow.email.held"
MAX_EVENTS = 25  # failure events per run: enough to act on, not a flood when a whole run fails
MAX_LINES = 100  # one log line per failure, up to this many


class _InARun(logging.Filter):
    """Only records logged inside a flow or task run: the API keeps logs by run."""

    def filter(self, record: logging.LogRecord) -> bool:
        from prefect.context import FlowRunContext, TaskRunContext

        return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def copflow_logs_reach_runs() -> None:
    """What PREFECT_LOGGING_EXTRA_LOGGERS=copflow does, without it having to be set where each
    worker, `copflow serve` or command starts: the copflow loggers' records reach the run's log."""
    logger = logging.getLogger("copflow")
    if any(isinstance(h, APILogHandler) for h in logger.handlers):
        return  # already there (the setting was given)
    handler = APILogHandler()
    handler.addFilter(_InARun())
    logger.addHandler(handler)


copflow_logs_reach_runs()


def with_secret_blocks(settings: Settings) -> Settings:
    """Fill a missing credential from the Prefect Secret block its setting names."""
    updates: dict[str, SecretStr] = {}
    for field, block in (("smtp_password", settings.smtp_password_block),
                         ("notify_api_key", settings.notify_api_key_block)):
        if block and getattr(settings, field) is None:
            from prefect.blocks.system import Secret

            secret = cast(Secret[str], Secret.load(block))  # a sync call here: the block itself
            updates[field] = SecretStr(str(secret.get()))
    return settings.model_copy(update=updates) if updates else settings


def _resolved(settings: Settings) -> tuple[Settings, str | None]:
    """The settings with block credentials filled in, or why a block could not be read."""
    try:
        return with_secret_blocks(settings), None
    except Exception as exc:  # a missing block, or no server to read it from: not sendable here
        return settings, f"a Secret block named in the settings cannot be read here ({type(exc).__name__})"


def _not_delivered(ids: list[int], why: str) -> DeliveryReport:
    """The rows stay pending: left for the worker (standing in for it), or until the settings work."""
    if standing_in():
        return DeliveryReport(for_worker=len(ids))
    return DeliveryReport(stopped=f"email transport not ready: {why}", deferred=[str(i) for i in ids])


# A retry is safe: each row is claimed in its own commit and keyed, so rows already sent are
# skipped, and a row the failed try had claimed waits for its claim to go stale, then goes once.
# Its report lists outbox keys (they name addresses): never written to Prefect's result storage.
@task(name="deliver-email", task_run_name="deliver: {label}", cache_policy=NO_CACHE,
      retries=2, retry_delay_seconds=2, persist_result=False)
def deliver(slugs: list[str], label: str) -> DeliveryReport:
    """Deliver these CoPs' pending outbox rows (this run's, and any a crashed run left)."""
    with session_scope() as db:
        ids = pending_ids(db, slugs)
    logger = get_run_logger()
    if not ids:
        return DeliveryReport()
    settings, unreadable = _resolved(get_settings())
    why = not_here(settings) or unreadable
    report = _not_delivered(ids, why) if why else deliver_pending(ids, settings)
    logger.info("emails: %d sent, %d failed, %d held, %d waiting to retry",
                len(report.sent), len(report.failed), len(report.held), len(report.deferred))
    if report.for_worker:
        logger.warning("%d email(s) left queued for the worker to deliver: %s", report.for_worker, why)
    elif report.stopped:
        logger.warning("delivery stopped early: %s", report.stopped)
    tell_operations(report)
    return report


def tell_operations(report: DeliveryReport) -> None:
    """Each failure in the run's log, and as an event an automation can act on (ids only)."""
    if not report.problems:
        return
    logger = get_run_logger()
    slugs = _slugs({p.community_id for p in report.problems if p.community_id is not None})
    failed = [p for p in report.problems if p.status == "failed"]
    for p in failed[:MAX_LINES]:
        logger.warning("email #%d (%s, %s) failed: %s [%s]", p.outbox_id, p.template,
                       slugs.get(p.community_id, "-"), p.reason, p.kind)
    for p in failed[:MAX_EVENTS]:
        _emit(EMAIL_FAILED, p, slugs, count=1)
    held = [p for p in report.problems if p.status == "held"]
    if held:
        # One event for the batch: every held email waits on the same fix.
        logger.warning("%d email(s) held: %s [%s]; fix the settings, then `copflow outbox resend --held`",
                       len(report.held), held[0].reason, held[0].kind)
        _emit(EMAIL_HELD, held[0], slugs, count=len(report.held))


def _emit(event: str, p: Problem, slugs: dict[int | None, str], *, count: int) -> None:
    slug = slugs.get(p.community_id)
    related: list[dict[str, Any]] = []
    if slug is not None:
        related.append({"prefect.resource.id": f"copflow.community.{slug}",
                        "prefect.resource.role": "community", "prefect.resource.name": slug})
    emit_event(event=event,
               resource={"prefect.resource.id": f"copflow.outbox.{p.outbox_id}",
                         "prefect.resource.name": f"outbox #{p.outbox_id}"},
               related=related,
               payload={"outbox_id": p.outbox_id, "template": p.template, "slug": slug,
                        "reason": p.kind, "count": count})


def _slugs(community_ids: set[int]) -> dict[int | None, str]:
    if not community_ids:
        return {}
    with session_scope() as db:
        return dict(db.execute(select(Community.id, Community.slug)
                               .where(Community.id.in_(community_ids))).all())

