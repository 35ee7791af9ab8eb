"""Record a session held through the one stage-change path: a launching CoP's first session
makes it active, with an audit entry naming this run and a stage-changed event."""

from __future__ import annotations

from prefect import flow

from flows._compose import finish
from flows.requests import FlowResult, SessionRequest
from tasks.lifecycle_tasks import record_session as record_session_task


@flow(name="record-session", flow_run_name="record-session: {request.slug}")
def record_session(request: SessionRequest) -> FlowResult:
    outcome = record_session_task(request.slug, held_on=request.held_on, attended=request.attended,
                                  format=request.format, topics=request.topics, methods=request.methods,
                                  outputs=request.outputs, stories=request.stories, consent=request.consent,
                                  teller=request.teller, guests=request.guests, actor=request.actor,
                                  today=request.day())
    return finish("record-session", request.slug, [outcome])
