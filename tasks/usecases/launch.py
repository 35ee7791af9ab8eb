"""Launch: proposed -> launching; invite every member and tell every sponsor (one transaction)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db.tables import Community, Membership, RoleTerm
from models.lifecycle import Stage
from models.rota import next_lead
from models.stages import require_launch
from tasks.agenda import first_session_agenda
from tasks.email.calendar import first_session_invite
from tasks.storage import audit
from tasks.storage.queries import (
    convenor_of,
    current_members,
    rota_candidates,
    sponsors_of,
)
from tasks.storage.selects import missing_for_launch
from tasks.usecases.acting import ActorRef, acting_decider, actor_id
from tasks.usecases.common import Outcome, change_stage, queue_email
from tasks.usecases.drafted import tell_drafted_convenor
from tasks.usecases.replies import replies_of


def check_launch(db: Session, slug: str, actor: ActorRef | None) -> tuple[Community, str]:
    """Everything launch checks before it changes anything (the CLI asks this first)."""
    community, who = acting_decider(db, slug, actor)
    require_launch(Stage(community.stage), slug, lambda: missing_for_launch(db, community.id))
    return community, who


def choose_first_lead(db: Session, community: Community, *, actor: str, today: date,
                      flow_run_id: str | None) -> Membership | None:
    """The first planning lead, by the same rota rules (the convenor only if nobody else)."""
    pick = next_lead(rota_candidates(db, [community.id])[community.id], outgoing_id=None)
    if pick is None:
        return None
    lead = db.get(Membership, pick.membership_id)
    assert lead is not None
    # Volunteering is an offer for the next term; it is now taken up, and they join the planning group.
    joins = not lead.planning_group and not lead.is_convenor
    lead.volunteered, lead.planning_group = False, True
    db.add(RoleTerm(community_id=community.id, membership_id=lead.id, started_on=today,
                    sessions_at_start=0))
    audit.record(db, community, actor=actor, action="lead.chosen", on_date=today,
                 why="first planning lead, by the rota rules",
                 after={"planning_lead": lead.person.name, **({"joined_planning_group": True} if joins else {})},
                 flow_run_id=flow_run_id)
    return lead


def launch(db: Session, slug: str, *, actor: ActorRef | None, today: date, flow_run_id: str | None) -> Outcome:
    community, who = check_launch(db, slug, actor)
    before = change_stage(db, community, Stage.launching, actor=who, today=today,
                          why="charter complete; launched", flow_run_id=flow_run_id)
    community.launched_on = today
    outcome = Outcome(slug=slug, stage_before=before, stage_after=Stage.launching.value, actor_id=actor_id(db, who))
    lead = choose_first_lead(db, community, actor=who, today=today, flow_run_id=flow_run_id)
    outcome.planning_lead = lead.person.name if lead else None
    if lead is None:
        outcome.notes.append("nobody is eligible to lead planning yet")
    elif lead.is_convenor:  # nobody else can lead: the convenor is drafted, and told so
        tell_drafted_convenor(db, community, outcome, lead, key=f"drafted:{slug}:launch", outgoing=None,
                              tasks=[], today=today)

    convenor = convenor_of(db, community)
    convenor_name = convenor.person.name if convenor else None
    convenor_email = convenor.person.email if convenor else None
    invite = first_session_invite(community, convenor_name, convenor_email)
    # The convenor runs the CoP: they are not invited to it, and are not counted as a member.
    members = [m for m in current_members(db, community) if not m.is_convenor]
    replies, grew_from = replies_of(db, community), predecessor_of(db, community)
    for m in members:
        queue_email(db, outcome, key=f"invite:{slug}:{m.person.email}", community=community,
                    template="member-invitation", name=m.person.name, email=m.person.email,
                    today=today, calendar=invite, convenor_name=convenor_name, replies=replies,
                    is_convenor=m.is_convenor, planning_lead=lead.person.name if lead else None,
                    is_lead=lead is not None and m.id == lead.id, predecessor=grew_from,
                    agenda=first_session_agenda() if community.first_session else [])
    sponsors = sponsors_of(db, community)
    for s in sponsors:
        queue_email(db, outcome, key=f"launch-notice:{slug}:{s.person.email}", community=community,
                    template="sponsor-launch-notice", name=s.person.name, email=s.person.email,
                    today=today, convenor_name=convenor_name, member_count=len(members),
                    replies=replies, predecessor=grew_from)
    outcome.notes.append(f"{slug} is launching: {len(members)} invitation{'s' * (len(members) != 1)} and "
                         f"{len(sponsors)} sponsor notice{'s' * (len(sponsors) != 1)} queued")
    return outcome


def predecessor_of(db: Session, community: Community) -> Community | None:
    """The CoP this one grew out of (it named this one as its successor), if any."""
    return db.scalars(select(Community).where(Community.successor_id == community.id)
                      .order_by(Community.id).limit(1)).one_or_none()
