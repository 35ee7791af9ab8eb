"""Health (sustain): check every active CoP (or one), nudge, propose a close when it is time."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, RunResults, finish, run_name
from flows._pages import each_page
from flows.requests import HealthRequest
from tasks.lifecycle_tasks import check_health_page, find_active
from tasks.page_tasks import health_page
from tasks.storage import operator
from tasks.storage.operator import operated_by
from tasks.storage.paging import pages


@flow(name="health", flow_run_name=run_name("health"))
def health(request: HealthRequest) -> FlowEnd:
    today = request.day()
    with operated_by(request.operator_name(every_cop=request.slug is None)):
        slugs = [request.slug] if request.slug is not None else find_active()
        # One task per page of CoPs, each page in one transaction; a run over every CoP keeps
        # their signals (the figures stay in each CoP's health record) and may spread its pages.
        results = each_page(
            RunResults("health", every_cop=request.slug is None), pages(slugs),
            lambda page: check_health_page(page, today=today, figures=request.slug is not None,
                                           more=len(page) - 1),
            None if request.slug is not None else lambda page, run_id, number: health_page.delay(
                page, run_id=run_id, number=number, today=today, operator=operator.current(),
                more=len(page) - 1))
        return finish("health", request.slug or "all", results)
