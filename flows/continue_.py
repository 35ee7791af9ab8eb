"""Continue a closing CoP: closing -> active, because its members decided to."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish
from flows.requests import ContinueRequest
from tasks.lifecycle_tasks import continue_cop


@flow(name="continue", flow_run_name="continue: {request.slug}")
def continue_community(request: ContinueRequest) -> FlowEnd:
    actor, today = request.require_actor(), request.day()
    with request.asked(every_cop=False):
        outcome = continue_cop(request.slug, actor=actor, today=today)
        return finish("continue", request.slug, [outcome])
