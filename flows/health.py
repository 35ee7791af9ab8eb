"""Health (sustain): check every active CoP (or one), nudge, propose a close when it is time."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish, run_name
from flows.requests import HealthRequest
from tasks.lifecycle_tasks import check_health_page, find_active
from tasks.storage.paging import pages
from tasks.usecases.common import Outcome


@flow(name="health", flow_run_name=run_name("health"))
def health(request: HealthRequest) -> FlowEnd:
    today = request.day()
    slugs = [request.slug] if request.slug is not None else find_active()
    outcomes: list[Outcome] = []
    for page in pages(slugs):  # one task per page of CoPs, each page in one transaction
        # A run over every CoP keeps their signals; the figures stay in each CoP's health record.
        outcomes += check_health_page(page, today=today, figures=request.slug is not None,
                                      more=len(page) - 1).outcomes
    return finish("health", request.slug or "all", outcomes)
