"""Rotate the planning lead: for one CoP on request, or every CoP whose rotation is due."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish, run_name
from flows.requests import RotateRequest
from tasks.lifecycle_tasks import find_rotations_due, rotate_lead


@flow(name="rotate", flow_run_name=run_name("rotate"))
def rotate(request: RotateRequest) -> FlowEnd:
    today = request.day()
    if request.slug is not None:
        outcomes = [rotate_lead(request.slug, actor=request.actor, today=today)]
    else:
        outcomes = [rotate_lead(slug, actor=None, today=today, scheduled=True)
                    for slug in find_rotations_due()]
    return finish("rotate", request.slug or "all", outcomes)
