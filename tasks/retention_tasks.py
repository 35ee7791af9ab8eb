"""Prefect task: erase contact details whose retention period has ended (one transaction)."""

from __future__ import annotations

from datetime import date

from tasks.lifecycle_tasks import current_flow_run_id, use_case_task
from tasks.storage.db import session_scope
from tasks.storage.settings import get_settings
from tasks.usecases.common import Outcome
from tasks.usecases.retention import erase_expired_contacts


@use_case_task("erase-expired-contacts", "erase expired contact details")
def erase_expired(today: date) -> list[Outcome]:
    days = get_settings().retention_days
    with session_scope() as db:
        erased = erase_expired_contacts(db, today=today, retention_days=days,
                                        flow_run_id=current_flow_run_id())
    return [Outcome(slug=slug, notes=[(f"{slug}: contact details of {n} people erased, "
                                       f"{days} days after the archive")])
            for slug, n in sorted(erased.items())]
