"""Launch: proposed -> launching; invite every member and tell every sponsor (one transaction)."""

from __future__ import annotations

from datetime import date

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
from tasks.usecases.acting import acting_decider
from tasks.usecases.common import Outcome, change_stage, queue_email


def check_launch(db: Session, slug: str, actor: str | None) -> tuple[Community, str]:
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
    lead.volunteered = False  # volunteering is an offer for the next term; it is now taken up
    db.add(RoleTerm(community_id=community.id, membership_id=lead.id, started_on=today,
                    sessions_at_start=0))
    audit.record(db, community, actor=actor, action="lead.chosen", on_date=today,
                 why="first planning lead, by the rota rules",
                 after={"planning_lead": lead.person.name}, flow_run_id=flow_run_id)
    return lead


def launch(db: Session, slug: str, *, actor: str | None, today: date, flow_run_id: str | None) -> Outcome:
    community, who = check_launch(db, slug, actor)
    before = change_stage(db, community, Stage.launching, actor=who, today=today,
                          why="charter complete; launched", flow_run_id=flow_run_id)
    community.launched_on = today
    outcome = Outcome(slug=slug, stage_before=before, stage_after=Stage.launching.value, actor=who)
    lead = choose_first_lead(db, community, actor=who, today=today, flow_run_id=flow_run_id)
    outcome.planning_lead = lead.person.name if lead else None
    if lead is None:
        outcome.notes.append("nobody is eligible to lead planning yet")

    convenor = convenor_of(db, community)
    convenor_name = convenor.person.name if convenor else None
    convenor_email = convenor.person.email if convenor else None
    invite = first_session_invite(community, convenor_name, convenor_email)
    members = current_members(db, community)
    for m in members:
        queue_email(db, outcome, key=f"invite:{slug}:{m.person.email}", community=community,
                    template="member-invitation", name=m.person.name, email=m.person.email,
                    today=today, calendar=invite, convenor_name=convenor_name,
                    is_convenor=m.is_convenor, planning_lead=lead.person.name if lead else None,
                    agenda=first_session_agenda() if community.first_session else [])
    for s in sponsors_of(db, community):
        queue_email(db, outcome, key=f"launch-notice:{slug}:{s.person.email}", community=community,
                    template="sponsor-launch-notice", name=s.person.name, email=s.person.email,
                    today=today, convenor_name=convenor_name, member_count=len(members))
    sponsors = len(sponsors_of(db, community))
    outcome.notes.append(f"{slug} is launching: {len(members)} invitation{'s' * (len(members) != 1)} and "
                         f"{sponsors} sponsor notice{'s' * (sponsors != 1)} queued")
    return outcome
