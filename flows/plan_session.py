"""Plan the next session: the planning group sets its date and every member gets a calendar
invite (a changed date updates the same calendar entry), delivered by this run."""

from __future__ import annotations

from prefect import flow

from flows._compose import finish
from flows.requests import FlowResult, PlanRequest
from tasks.lifecycle_tasks import plan_session as plan_session_task


@flow(name="plan-session", flow_run_name="plan-session: {request.slug}")
def plan_session(request: PlanRequest) -> FlowResult:
    outcome = plan_session_task(request.slug, starts_at=request.starts_at, agenda=request.agenda,
                                actor=request.actor, today=request.day())
    return finish("plan-session", request.slug, [outcome])
