"""Plan the next session: the planning group sets its date and every member gets a calendar
invite (a changed date updates the same calendar entry), delivered by this run."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish, with_text
from flows.requests import PlanRequest
from tasks.lifecycle_tasks import plan_session as plan_session_task
from tasks.storage.operator import operated_by


@flow(name="plan-session", flow_run_name="plan-session: {request.slug}")
def plan_session(request: PlanRequest) -> FlowEnd:
    request = with_text(request)  # the words typed for it, from copflow's database
    actor, today = request.require_actor(), request.day()
    with operated_by(request.operator_name(every_cop=False), request.channel):
        outcome = plan_session_task(request.slug, starts_at=request.starts_at, agenda=request.agenda,
                                    actor=actor, today=today)
        return finish("plan-session", request.slug, [outcome])
