"""Archive a CoP: final sponsor report, the archive bundle, closing -> archived.

The scheduled run (no slug) also erases contact details after the retention period
(tasks/usecases/retention.py)."""

from __future__ import annotations

from prefect import flow

from flows._compose import finish, run_name
from flows.requests import ArchiveRequest, FlowResult
from tasks.lifecycle_tasks import apply, find
from tasks.retention_tasks import erase_expired
from tasks.usecases.archive import archive as archive_use_case
from tasks.usecases.archive import due_for_archive


@flow(name="archive", flow_run_name=run_name("archive"))
def archive(request: ArchiveRequest) -> FlowResult:
    today = request.day()
    if request.slug is not None:
        outcomes = [apply("archive", request.slug, archive_use_case, actor=request.actor,
                          now=request.now, today=today)]
    else:
        outcomes = [apply("archive", slug, archive_use_case, actor=None, now=False, today=today,
                          scheduled=True)
                    for slug in find("notice ended", due_for_archive, today=today)]
        # The daily run also erases contact details whose retention period has ended.
        outcomes += erase_expired(today)
    return finish("archive", request.slug or "all", outcomes)
