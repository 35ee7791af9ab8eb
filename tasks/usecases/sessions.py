"""Recording a session held."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.charter import SessionFormat
from models.db.tables import (
    Attendance,
    CopSession,
    Membership,
)
from models.errors import BadInput, Refused
from models.lifecycle import Stage, require_writable
from tasks.storage import audit
from tasks.storage.queries import (
    get_community,
    membership_of,
)
from tasks.usecases.acting import require_decider, resolve_actor

SESSION_STAGES = {Stage.launching, Stage.active, Stage.closing}


def record_session(
    db: Session, slug: str, *, held_on: date, attended: Sequence[str], format: SessionFormat | None,
    topics: Sequence[str], methods: Sequence[str] = (), outputs: Sequence[str] = (),
    story: str | None = None, actor: str | None, today: date,
) -> CopSession:
    community = get_community(db, slug, for_update=True)  # the first session makes it active
    stage = Stage(community.stage)
    require_writable(stage, slug)
    who = resolve_actor(db, community, actor)
    require_decider(db, community, who)
    if stage not in SESSION_STAGES:
        raise Refused(f"{slug} is {stage.value}; launch it before recording sessions")
    if held_on > today:
        raise BadInput(f"--on: {held_on} is after today ({today}); record a session once it is held")
    if not attended:
        raise BadInput("--attended: name at least one person who attended")
    attendees: list[Membership] = []
    for email in dict.fromkeys(e.strip().lower() for e in attended):
        membership = membership_of(db, community, email)
        if membership is None or membership.left_on is not None:
            raise BadInput(f"--attended: {email} is not a current member of {slug}")
        attendees.append(membership)
    if db.scalar(select(CopSession.id).where(CopSession.community_id == community.id,
                                             CopSession.held_on == held_on)) is not None:
        raise BadInput(f"--on: a session on {held_on} is already recorded for {slug}")
    session = CopSession(
        community_id=community.id, held_on=held_on,
        format=(format or SessionFormat(community.format)).value,
        topics=list(topics), methods=list(methods), outputs=list(outputs), story=story,
        recorded_on=today,
    )
    session.attendance = [Attendance(membership_id=m.id) for m in attendees]
    db.add(session)
    db.flush()
    audit.record(db, community, actor=who, action="session.recorded", on_date=today,
                 after={"held_on": str(held_on), "attended": len(attendees), "topics": list(topics)})
    if stage is Stage.launching:
        # The first session held makes a launching CoP active.
        community.stage = Stage.active.value
        audit.record(db, community, actor=who, action="stage.changed", on_date=today,
                     why="first session held", before={"stage": "launching"},
                     after={"stage": "active"})
    return session

