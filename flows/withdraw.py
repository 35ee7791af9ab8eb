"""Withdraw a CoP that never launched or never met: proposed|launching -> archived."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish, with_text
from flows.requests import WithdrawRequest
from tasks.lifecycle_tasks import withdraw_cop


@flow(name="withdraw", flow_run_name="withdraw: {request.slug}")
def withdraw(request: WithdrawRequest) -> FlowEnd:
    request = with_text(request)  # the words typed for it, from copflow's database
    actor, today = request.require_actor(), request.day()
    with request.asked(every_cop=False):
        outcome = withdraw_cop(request.slug, actor=actor, reason=request.reason, today=today)
        return finish("withdraw", request.slug, [outcome])
