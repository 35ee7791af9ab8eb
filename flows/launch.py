"""Launch a CoP: proposed -> launching; invitations to members, a notice to sponsors."""

from __future__ import annotations

from prefect import flow

from flows._compose import finish
from flows.requests import FlowResult, LaunchRequest
from tasks.lifecycle_tasks import apply
from tasks.usecases.launch import launch as launch_use_case


@flow(name="launch", flow_run_name="launch: {request.slug}")
def launch(request: LaunchRequest) -> FlowResult:
    outcome = apply("launch", request.slug, launch_use_case, actor=request.actor, today=request.day())
    return finish("launch", request.slug, [outcome])
