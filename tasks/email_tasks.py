"""Prefect task: deliver a flow's CoPs' outbox rows, with credentials read from Prefect blocks.

The only email module that touches Prefect: tasks/email/ takes settings already resolved.
"""

from __future__ import annotations

from typing import cast

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr

from tasks.email.delivery import DeliveryReport, deliver_pending
from tasks.email.outbox import pending_ids
from tasks.storage.db import session_scope
from tasks.storage.settings import Settings, get_settings


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


# A retry is safe: each row is claimed in its own commit and keyed, so rows already sent are
# skipped, and a row the failed try had claimed waits for its claim to go stale, then goes once.
@task(name="deliver-email", task_run_name="deliver: {label}", cache_policy=NO_CACHE,
      retries=2, retry_delay_seconds=2)
def deliver(slugs: list[str], label: str) -> DeliveryReport:
    """Deliver these CoPs' pending outbox rows (this run's, and any a crashed run left)."""
    with session_scope() as db:
        ids = pending_ids(db, slugs)
    report = deliver_pending(ids, with_secret_blocks(get_settings())) if ids else DeliveryReport()
    logger = get_run_logger()
    logger.info("emails: %d sent, %d failed, %d waiting to retry",
                len(report.sent), len(report.failed), len(report.deferred))
    if report.stopped:
        logger.warning("delivery stopped early: %s", report.stopped)
    return report
