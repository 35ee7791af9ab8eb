"""Continue a closing CoP: closing -> active, because its members decided to."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish
from flows.requests import ContinueRequest
from tasks.lifecycle_tasks import continue_cop


@flow(name="continue", flow_run_name="continue: {request.slug}")
def continue_community(request: ContinueRequest) -> FlowEnd:
    outcome = continue_cop(request.slug, actor=request.actor, today=request.day())
    return finish("continue", request.slug, [outcome])
