"""Archive a CoP: final sponsor report, the archive bundle, closing -> archived.

The scheduled run (no slug) also erases contact details after the retention period
(tasks/usecases/retention.py)."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish, run_name
from flows.requests import ArchiveRequest
from tasks.lifecycle_tasks import archive_cop, find_archives_due
from tasks.retention_tasks import erase_expired


@flow(name="archive", flow_run_name=run_name("archive"))
def archive(request: ArchiveRequest) -> FlowEnd:
    today = request.day()
    if request.slug is not None:
        outcomes = [archive_cop(request.slug, actor=request.actor, now=request.now, today=today)]
    else:
        outcomes = [archive_cop(slug, actor=None, now=False, today=today, scheduled=True)
                    for slug in find_archives_due(today)]
        # The daily run also erases contact details whose retention period has ended.
        outcomes += erase_expired(today)
    return finish("archive", request.slug or "all", outcomes)
