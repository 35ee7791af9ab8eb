"""Launch a CoP: proposed -> launching; invitations to members, a notice to sponsors."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish
from flows.requests import LaunchRequest
from tasks.lifecycle_tasks import launch_cop


@flow(name="launch", flow_run_name="launch: {request.slug}")
def launch(request: LaunchRequest) -> FlowEnd:
    actor, today = request.require_actor(), request.day()
    with request.asked(every_cop=False):
        outcome = launch_cop(request.slug, actor=actor, today=today)
        return finish("launch", request.slug, [outcome])
