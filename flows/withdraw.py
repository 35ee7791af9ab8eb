"""Withdraw a CoP that never launched or never met: proposed|launching -> archived."""

from __future__ import annotations

from prefect import flow

from flows._compose import finish
from flows.requests import FlowResult, WithdrawRequest
from tasks.lifecycle_tasks import withdraw_cop


@flow(name="withdraw", flow_run_name="withdraw: {request.slug}")
def withdraw(request: WithdrawRequest) -> FlowResult:
    outcome = withdraw_cop(request.slug, actor=request.actor, reason=request.reason,
                           today=request.day())
    return finish("withdraw", request.slug, [outcome])
