"""Record a session held through the one stage-change path: a launching CoP's first session
makes it active, with an audit entry naming this run and a stage-changed event."""

from __future__ import annotations

from prefect import flow

from flows._compose import FlowEnd, finish, with_text
from flows.requests import SessionRequest
from tasks.lifecycle_tasks import record_session as record_session_task
from tasks.storage.operator import operated_by
from tasks.usecases.acting import ActorRef


@flow(name="record-session", flow_run_name="record-session: {request.slug}")
def record_session(request: SessionRequest) -> FlowEnd:
    request = with_text(request)  # the words typed for it, from copflow's database
    actor, today = request.require_actor(), request.day()
    with operated_by(request.operator_name(every_cop=False), request.channel):
        outcome = record_session_task(request.slug, held_on=request.held_on, attended=list[ActorRef](request.attended),
                                      format=request.format, topics=request.topics, methods=request.methods,
                                      outputs=request.outputs, stories=request.stories, consent=request.consent,
                                      teller=request.teller_id, guests=request.guests, actor=actor, today=today)
        return finish("record-session", request.slug, [outcome])
