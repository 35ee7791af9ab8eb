"""Archive a CoP: final sponsor report, the archive bundle, closing -> archived."""

from __future__ import annotations

from prefect import flow

from flows._compose import finish, run_name
from flows.requests import ArchiveRequest, FlowResult
from tasks.archiving import archive as archive_use_case
from tasks.archiving import due_for_archive
from tasks.lifecycle_tasks import apply, find


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
    return finish("archive", request.slug or "all", outcomes)
