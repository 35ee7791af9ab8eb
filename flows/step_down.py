"""A planning lead steps down mid-term (leaves, or opts out of leading): the next lead is chosen
at once by the rota rules and the open tasks are handed over, with both handover emails."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish
from flows.requests import StepDownRequest
from tasks.lifecycle_tasks import step_down_member
from tasks.storage.operator import operated_by


@flow(name="step-down", flow_run_name="step-down: {request.slug}")
def step_down(request: StepDownRequest) -> FlowEnd:
    actor, today = request.require_actor(), request.day()
    with operated_by(request.operator_name(every_cop=False), request.channel):
        outcome = step_down_member(request.slug, member=request.member, leaving=request.leaving,
                                   actor=actor, today=today)
        return finish("step-down", request.slug, [outcome])
