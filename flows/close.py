"""Close a CoP: active -> closing, with notice and thanks to every member."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish, with_text
from flows.requests import CloseRequest
from tasks.lifecycle_tasks import close_cop


@flow(name="close", flow_run_name="close: {request.slug}")
def close(request: CloseRequest) -> FlowEnd:
    request = with_text(request)  # the words typed for it, from copflow's database
    actor, today = request.require_actor(), request.day()
    with request.asked(every_cop=False):
        outcome = close_cop(request.slug, actor=actor, reason=request.reason,
                            successor=request.successor, notice_days=request.notice_days, today=today)
        return finish("close", request.slug, [outcome])
