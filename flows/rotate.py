"""Rotate the planning lead: for one CoP on request, or every CoP whose rotation is due."""

from __future__ import annotations

from prefect import flow

from flows._compose import finish, run_name
from flows.requests import FlowResult, RotateRequest
from tasks.lifecycle_tasks import apply, find
from tasks.usecases.rotate import due_for_rotation
from tasks.usecases.rotate import rotate as rotate_use_case


@flow(name="rotate", flow_run_name=run_name("rotate"))
def rotate(request: RotateRequest) -> FlowResult:
    today = request.day()
    if request.slug is not None:
        outcomes = [apply("rotate", request.slug, rotate_use_case, actor=request.actor, today=today)]
    else:
        outcomes = [apply("rotate", slug, rotate_use_case, actor=None, today=today, scheduled=True)
                    for slug in find("rotation due", due_for_rotation)]
    return finish("rotate", request.slug or "all", outcomes)
