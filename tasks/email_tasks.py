"""Prefect task: deliver one batch of outbox rows (a flow's emails, or everything due)."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.email.delivery import deliver_pending
from tasks.storage.settings import get_settings


@task(name="deliver-emails", task_run_name="deliver {label}", cache_policy=NO_CACHE)
def deliver_emails(ids: list[int] | None = None, label: str = "outbox") -> dict[str, Any]:
    """Send the given rows (None: every row due), each exactly once; never raises for one email."""
    report = deliver_pending(ids, get_settings())
    logger = get_run_logger()
    logger.info("emails: %d sent, %d failed, %d waiting to retry",
                len(report.sent), len(report.failed), len(report.deferred))
    if report.stopped:
        logger.warning("delivery stopped early: %s", report.stopped)
    return report.as_dict()
