"""Archive a CoP: final sponsor report, the archive bundle, closing -> archived.

The scheduled run (no slug) also erases contact details after the retention period
(tasks/usecases/retention.py)."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish, run_name
from flows.requests import ArchiveRequest
from models.errors import BadInput
from tasks.archive.stores import require_driver
from tasks.lifecycle_tasks import archive_cop, find_archives_due
from tasks.retention_tasks import erase_expired
from tasks.storage.settings import get_settings


@flow(name="archive", flow_run_name=run_name("archive"))
def archive(request: ArchiveRequest) -> FlowEnd:
    if request.slug is None:
        every_cop_request(request)
    actor = request.require_actor() if request.slug is not None else None
    today = request.day()
    require_driver(get_settings().archive_root)  # a store this worker cannot reach: say so, change nothing
    with request.asked(every_cop=request.slug is None):
        if request.slug is not None:
            outcomes = [archive_cop(request.slug, actor=actor, now=request.now, today=today)]
        else:  # as the schedule: only the CoPs whose notice has ended, never cut short
            outcomes = [archive_cop(slug, actor=None, now=False, today=today, scheduled=True)
                        for slug in find_archives_due(today)]
            # The daily run also erases contact details whose retention period has ended.
            outcomes += erase_expired(today)
        return finish("archive", request.slug or "all", outcomes)


def every_cop_request(request: ArchiveRequest) -> None:
    """A run over every CoP names no person and never cuts a notice period short."""
    request.as_schedule()
    if request.now:
        raise BadInput("now: a run over every CoP archives only those whose notice has ended; "
                       "archiving early is for one CoP, asked for by its convenor or planning group")
