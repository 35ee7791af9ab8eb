"""A planning lead steps down mid-term (leaves, or opts out of leading): the next lead is chosen
at once by the rota rules and the open tasks are handed over, with both handover emails."""

from __future__ import annotations

from prefect import flow

from flows._compose import finish
from flows.requests import FlowResult, StepDownRequest
from tasks.lifecycle_tasks import step_down_member


@flow(name="step-down", flow_run_name="step-down: {request.slug}")
def step_down(request: StepDownRequest) -> FlowResult:
    outcome = step_down_member(request.slug, member=request.member, leaving=request.leaving,
                               actor=request.actor, today=request.day())
    return finish("step-down", request.slug, [outcome])
