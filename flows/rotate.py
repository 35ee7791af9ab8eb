"""Rotate the planning lead: for one CoP on request, or every CoP whose rotation is due."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish, run_name
from flows.requests import RotateRequest
from tasks.lifecycle_tasks import find_rotations_due, rotate_lead


@flow(name="rotate", flow_run_name=run_name("rotate"))
def rotate(request: RotateRequest) -> FlowEnd:
    if request.slug is None:
        request.as_schedule()
    actor = request.require_actor() if request.slug is not None else None
    today = request.day()
    with request.asked(every_cop=request.slug is None):
        if request.slug is not None:
            outcomes = [rotate_lead(request.slug, actor=actor, today=today)]
        else:  # as the schedule: only the CoPs whose rota says a change is due
            outcomes = [rotate_lead(slug, actor=None, today=today, scheduled=True)
                        for slug in find_rotations_due()]
        return finish("rotate", request.slug or "all", outcomes)
