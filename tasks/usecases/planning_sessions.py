"""Planning the next session: the planning group sets its date, and every member gets a calendar
invite for it. A change of date updates the same calendar entry (same UID, SEQUENCE + 1).

One plan is open at a time: the next session. Recording a session held on or after its day
closes it, so the next `plan` starts a new calendar entry. When the charter gave a first session
and nothing has been planned or held yet, the first plan moves that entry (the launch invite's
UID, sequence 1), so members' calendars do not show the first session twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db.tables import Community, PlannedSession
from models.lifecycle import Stage
from models.sessions import require_planned
from models.stages import require_session
from tasks.email.calendar import Organiser, first_session_uid, session_invite
from tasks.storage import audit
from tasks.storage.queries import convenor_of, current_members, current_term, sessions_held
from tasks.usecases.acting import ActorRef, acting_decider, actor_id
from tasks.usecases.common import Outcome, queue_email


def open_plan(db: Session, community: Community) -> PlannedSession | None:
    return db.scalars(select(PlannedSession).where(PlannedSession.community_id == community.id,
                                                   PlannedSession.held_on.is_(None))
                      .order_by(PlannedSession.id.desc()).limit(1)).one_or_none()


def held_plans(db: Session, community: Community, held_on: date) -> None:
    """A session held closes the plans made for it (any open plan dated on or before that day)."""
    for plan in db.scalars(select(PlannedSession).where(PlannedSession.community_id == community.id,
                                                        PlannedSession.held_on.is_(None))):
        if plan.starts_at.date() <= held_on:
            plan.held_on = held_on


def check_plan(db: Session, slug: str, *, starts_at: datetime, actor: ActorRef | None,
               today: date) -> tuple[Community, str]:
    """Everything planning checks before it writes (the command line asks this first)."""
    community, who = acting_decider(db, slug, actor)
    require_session(Stage(community.stage), slug)
    require_planned(starts_at, community.created_on, today, slug)
    return community, who


def plan_session(db: Session, slug: str, *, starts_at: datetime, agenda: Sequence[str] = (),
                 actor: ActorRef | None, today: date, flow_run_id: str | None = None) -> Outcome:
    community, who = check_plan(db, slug, starts_at=starts_at, actor=actor, today=today)
    plan, moved_from = _place(db, community, starts_at, agenda, today)
    outcome = Outcome(slug=slug, stage_before=community.stage, stage_after=community.stage,
                      actor_id=actor_id(db, who))
    _invite_members(db, community, plan, outcome, today=today, moved=moved_from is not None)
    if outcome.queued:
        audit.record(db, community, actor=who, action="session.planned", on_date=today,
                     before={"starts_at": moved_from.isoformat()} if moved_from else None,
                     after={"starts_at": starts_at.isoformat(), "sequence": plan.sequence,
                            "agenda": list(plan.agenda)}, flow_run_id=flow_run_id)
    sent = len(outcome.queued)
    outcome.notes.append(f"next session of {slug} planned for {starts_at:%Y-%m-%d %H:%M}: " + (
        f"{sent} calendar invite{'s' * (sent != 1)} queued" if sent else "already planned, nothing new to send"))
    return outcome


def _place(db: Session, community: Community, starts_at: datetime, agenda: Sequence[str],
           today: date) -> tuple[PlannedSession, datetime | None]:
    """The open plan with this date and agenda (a new version when either changed), and the date
    it moved from, if it moved."""
    plan = open_plan(db, community)
    if plan is None:
        plan = PlannedSession(community_id=community.id, uid=_new_uid(db, community), starts_at=starts_at,
                              agenda=list(agenda), sequence=0, planned_on=today)
        db.add(plan)
        db.flush()
        if plan.uid != first_session_uid(community.slug):
            return plan, None
        plan.sequence = 1  # the charter's first session: the launch invite was sequence 0
        earlier = community.first_session
        return plan, earlier if earlier is not None and earlier != starts_at else None
    earlier = plan.starts_at
    if earlier != starts_at or (agenda and list(agenda) != plan.agenda):
        plan.starts_at, plan.sequence = starts_at, plan.sequence + 1
        plan.agenda = list(agenda) or plan.agenda
        db.flush()
    return plan, earlier if earlier != starts_at else None


def _new_uid(db: Session, community: Community) -> str:
    """The charter's first session keeps its launch invite's entry; any other plan is new."""
    first = first_session_uid(community.slug)
    if community.first_session is not None and sessions_held(db, community) == 0 and \
            db.scalar(select(PlannedSession.id).where(PlannedSession.uid == first)) is None:
        return first
    return f"session-{uuid.uuid4().hex}-{community.slug}@copflow"


def _invite_members(db: Session, community: Community, plan: PlannedSession, outcome: Outcome, *,
                    today: date, moved: bool) -> None:
    """One invite per member per version of the plan: a repeat queues nothing new."""
    convenor = convenor_of(db, community)
    organiser = Organiser(convenor.person.name if convenor else None,
                          convenor.person.email if convenor else None)
    first = sessions_held(db, community) == 0
    invite = session_invite(community, uid=plan.uid, starts_at=plan.starts_at, sequence=plan.sequence,
                            agenda=plan.agenda, organiser=organiser, first=first)
    lead = current_term(db, community)
    for m in current_members(db, community):
        # Those who run the session get its calendar entry, not an invitation to it.
        queue_email(db, outcome, key=f"session-invite:{community.slug}:{plan.uid}:{plan.sequence}:{m.person.email}",
                    community=community, template="session-invitation", name=m.person.name,
                    email=m.person.email, today=today, calendar=invite, starts_at=plan.starts_at,
                    agenda=plan.agenda, first=first, moved=moved,
                    planning_lead=lead.membership.person.name if lead else None,
                    is_lead=lead is not None and lead.membership_id == m.id,
                    runs_it=m.is_convenor or m.planning_group, convenor_name=organiser.name)
