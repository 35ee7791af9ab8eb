"""Recording a session held; the first one makes a launching CoP active."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db.tables import (
    Attendance,
    Community,
    CopSession,
    Membership,
    Story,
)
from models.errors import BadInput
from models.lifecycle import Stage
from models.sessions import require_guests, require_in_life
from models.stages import after_session, require_session
from models.stories import DEFAULT_CONSENT, Consent
from models.vocabulary import SessionFormat
from tasks.storage import audit
from tasks.storage.queries import (
    get_community,
    membership_of,
)
from tasks.usecases.acting import ActorRef, acting_decider, actor_id
from tasks.usecases.common import Outcome, change_stage
from tasks.usecases.planning_sessions import held_plans


def makes_active(db: Session, slug: str) -> bool:
    """Whether a session recorded now would be the one that makes the CoP active."""
    return after_session(Stage(get_community(db, slug).stage)) is not None


def check_session(db: Session, slug: str, *, held_on: date, attended: Sequence[ActorRef],
                  actor: ActorRef | None, today: date, guests: int = 0,
                  teller: str | None = None) -> tuple[Community, str, list[Membership]]:
    """Everything recording a session checks before it writes: the CoP, who acts, the stage,
    the date, who attended and who told its stories (the command line asks this before it
    starts a flow)."""
    community, who = acting_decider(db, slug, actor)
    require_session(Stage(community.stage), slug)
    require_in_life(held_on, community.created_on, today, slug)
    require_guests(guests)
    if teller is not None:
        teller_of(db, community, teller)
    if not attended:
        raise BadInput("--attended: name at least one person who attended")
    attendees: list[Membership] = []
    for ref in dict.fromkeys(a if isinstance(a, int) else a.strip().lower() for a in attended):
        membership = _attendee(db, community, ref)
        if membership is None or membership.left_on is not None:
            who = f"person {ref}" if isinstance(ref, int) else ref
            raise BadInput(f"--attended: {who} is not a current member of {slug}")
        attendees.append(membership)
    if db.scalar(select(CopSession.id).where(CopSession.community_id == community.id,
                                             CopSession.held_on == held_on)) is not None:
        raise BadInput(f"--on: a session on {held_on} is already recorded for {slug}")
    return community, who, attendees


def _attendee(db: Session, community: Community, ref: ActorRef) -> Membership | None:
    """A member by address (the command line) or person id (the record-session flow's parameter)."""
    if isinstance(ref, int):
        return db.scalars(select(Membership).where(Membership.community_id == community.id,
                                                   Membership.person_id == ref)).one_or_none()
    return membership_of(db, community, ref)


def teller_of(db: Session, community: Community, email: str) -> Membership:
    """The member (current or former) who told a story: a teller is one of the CoP's people."""
    membership = membership_of(db, community, email)
    if membership is None:
        raise BadInput(f"--teller: {email} is not a member of {community.slug}")
    return membership


def record_session(
    db: Session, slug: str, *, held_on: date, attended: Sequence[ActorRef], format: SessionFormat | None,
    topics: Sequence[str], methods: Sequence[str] = (), outputs: Sequence[str] = (),
    stories: Sequence[str] = (), consent: Consent = DEFAULT_CONSENT, teller: str | None = None,
    guests: int = 0, actor: ActorRef | None, today: date, flow_run_id: str | None = None,
) -> CopSession:
    return _record(db, slug, held_on=held_on, attended=attended, format=format, topics=topics,
                   methods=methods, outputs=outputs, stories=stories, consent=consent, teller=teller,
                   guests=guests, actor=actor, today=today, flow_run_id=flow_run_id)[1]


def session_outcome(db: Session, slug: str, *, flow_run_id: str | None, **details: Any) -> Outcome:
    """Record a session (as record_session) and say what it did: the record-session flow's use case."""
    return _record(db, slug, flow_run_id=flow_run_id, **details)[0]


def _record(
    db: Session, slug: str, *, held_on: date, attended: Sequence[ActorRef], format: SessionFormat | None,
    topics: Sequence[str], methods: Sequence[str] = (), outputs: Sequence[str] = (),
    stories: Sequence[str] = (), consent: Consent = DEFAULT_CONSENT, teller: str | None = None,
    guests: int = 0, actor: ActorRef | None, today: date, flow_run_id: str | None,
) -> tuple[Outcome, CopSession]:
    community, who, attendees = check_session(db, slug, held_on=held_on, attended=attended,
                                              actor=actor, today=today, guests=guests, teller=teller)
    teller_id = teller_of(db, community, teller).person_id if teller is not None else None
    session = CopSession(
        community_id=community.id, held_on=held_on,
        format=(format or SessionFormat(community.format)).value,
        topics=list(topics), methods=list(methods), outputs=list(outputs), guests=guests,
        recorded_on=today,
    )
    session.attendance = [Attendance(membership_id=m.id) for m in attendees]
    session.stories = [Story(community_id=community.id, told_on=held_on, text=text, teller_id=teller_id,
                             consent=Consent(consent).value, recorded_on=today)
                       for text in dict.fromkeys(stories)]
    db.add(session)
    db.flush()
    held_plans(db, community, held_on)
    audit.record(db, community, actor=who, action="session.recorded", on_date=today,
                 after={"held_on": str(held_on), "attended": len(attendees), "guests": guests,
                        "topics": list(topics), "stories": len(session.stories),
                        "consent": Consent(consent).value if session.stories else None},
                 flow_run_id=flow_run_id)
    before = community.stage
    becomes = after_session(Stage(before))
    if becomes is not None:  # through the one stage-change path: checked, audited
        change_stage(db, community, becomes, actor=who, today=today, why="first session held",
                     flow_run_id=flow_run_id)
    attended_count = len(attendees) + guests
    outcome = Outcome(slug=slug, stage_before=before, stage_after=community.stage, actor_id=actor_id(db, who),
                      notes=[f"session on {held_on} recorded for {slug}: {attended_count} attended"],
                      attended=attended_count)
    return outcome, session
