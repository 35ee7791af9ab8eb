"""Health (sustain): check every active CoP (or one), nudge, propose a close when it is time."""

from __future__ import annotations

from prefect import flow

from flows._compose import finish, run_name
from flows.requests import FlowResult, HealthRequest
from tasks.lifecycle_tasks import apply_each, find
from tasks.usecases.health import active_slugs, check_page


@flow(name="health", flow_run_name=run_name("health"))
def health(request: HealthRequest) -> FlowResult:
    today = request.day()
    slugs = [request.slug] if request.slug is not None else find("active", active_slugs)
    # A run over every CoP keeps their signals; the figures stay in each CoP's health record.
    outcomes = apply_each("health", slugs, check_page, whole_page=True, today=today,
                          figures=request.slug is not None)
    return finish("health", request.slug or "all", outcomes)
