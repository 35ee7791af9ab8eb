"""Members joining, leaving, volunteering to lead or opting out."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from models.db.tables import (
    Community,
    Membership,
    RoleTerm,
)
from models.errors import BadInput
from models.lifecycle import Stage
from models.membership import require_may_leave, require_not_sponsor
from models.stages import hands_over_on_step_down
from models.vocabulary import MemberKind
from tasks.storage import audit
from tasks.storage.queries import (
    current_term,
    membership_of,
    require_member,
    sponsorship_of,
)
from tasks.usecases.acting import ActorRef, acting_decider, actor_id
from tasks.usecases.common import Outcome
from tasks.usecases.communities import find_or_add_person
from tasks.usecases.rotate import hand_over


def add_member(
    db: Session, slug: str, *, name: str, email: str, kind: MemberKind, planning_group: bool,
    actor: ActorRef | None, today: date,
) -> Membership:
    community, who = acting_decider(db, slug, actor)
    require_not_sponsor(sponsorship_of(db, community, email) is not None, email, slug)
    existing = membership_of(db, community, email)
    if existing is not None and existing.left_on is None:
        raise BadInput(f"--email: {email} is already a member of {slug}")
    before = None
    if existing is not None:
        find_or_add_person(db, name, email, "--name")  # the same person coming back, by the same name
        before = {"member": email, "left_on": str(existing.left_on)}
        existing.left_on = None
        existing.kind = kind.value
        existing.planning_group = planning_group
        existing.joined_on = today
        membership = existing
    else:
        person = find_or_add_person(db, name, email, "--name")
        membership = Membership(community_id=community.id, person_id=person.id, kind=kind.value,
                                planning_group=planning_group, joined_on=today)
        db.add(membership)
    db.flush()
    audit.record(db, community, actor=who, action="member.added", on_date=today, before=before,
                 after={"member": email, "kind": kind.value, "planning_group": planning_group})
    return membership


def leave(db: Session, slug: str, email: str, *, actor: ActorRef | None, today: date,
          outcome: Outcome | None = None, flow_run_id: str | None = None) -> Membership:
    """A member leaves. A planning lead who leaves is followed at once by the rota rules, with
    their open tasks handed over (outcome: collects the handover emails queued)."""
    # A member may leave of their own accord; anyone else needs a decider.
    community, who = acting_decider(
        db, slug, actor, for_self=lambda cop: require_member(db, cop, email).person.email)
    membership = require_member(db, community, email)
    require_may_leave(membership.is_convenor, membership.person.email or email, slug)
    membership.left_on = today
    term = current_term(db, community)
    after: dict[str, object] = {"member": membership.person.email, "left_on": str(today)}
    leads = term is not None and term.membership_id == membership.id
    if leads:
        after["planning_lead_term_ended"] = True
    audit.record(db, community, actor=who, action="member.left", on_date=today,
                 before={"member": membership.person.email, "left_on": None}, after=after,
                 flow_run_id=flow_run_id)
    if leads:
        _follow_at_once(db, community, term, who=who, today=today, outcome=outcome,
                        flow_run_id=flow_run_id, why=f"{membership.person.name} left while planning lead")
    return membership


def _follow_at_once(db: Session, community: Community, term: RoleTerm | None, *, who: str,
                    today: date, outcome: Outcome | None, flow_run_id: str | None, why: str) -> None:
    """The lead stepped down (left, or opted out): the next is chosen now, not at the weekly run."""
    if term is None:
        return
    if not hands_over_on_step_down(Stage(community.stage)):
        term.ended_on = today
        return
    outcome = outcome or Outcome(slug=community.slug)
    outcome.actor_id = actor_id(db, who)  # who acted: the member stepping down, or a decider
    hand_over(db, community, outcome, who=who, term=term, today=today, flow_run_id=flow_run_id, why=why,
              stepped_down=True)


def volunteer(
    db: Session, slug: str, email: str, *, opt_out: bool, actor: ActorRef | None, today: date,
    outcome: Outcome | None = None, flow_run_id: str | None = None,
) -> Membership:
    """Volunteer to lead, or opt out. A planning lead who opts out ends their term at once and
    the next lead is chosen by the rota rules (outcome: collects the handover emails queued)."""
    def themselves(cop: Community) -> str | None:
        require_not_sponsor(sponsorship_of(db, cop, email) is not None, email, slug, to_lead=True)
        return require_member(db, cop, email).person.email

    # Members may volunteer or opt out for themselves; otherwise the convenor or planning group.
    community, who = acting_decider(db, slug, actor, for_self=themselves)
    membership = require_member(db, community, email)
    before = {"volunteered": membership.volunteered, "opted_out": membership.opted_out,
              "planning_group": membership.planning_group}
    if opt_out:
        membership.opted_out, membership.volunteered = True, False
    else:
        # An offer, not a role (DESIGN section 2): it makes them eligible to lead. They join the
        # planning group, and may decide, only once the rota picks them or the group takes them in.
        membership.opted_out, membership.volunteered = False, True
    after = {"volunteered": membership.volunteered, "opted_out": membership.opted_out,
             "planning_group": membership.planning_group}
    audit.record(db, community, actor=who,
                 action="member.opted-out" if opt_out else "member.volunteered",
                 on_date=today, before={"member": membership.person.email, **before},
                 after={"member": membership.person.email, **after}, flow_run_id=flow_run_id)
    term = current_term(db, community)
    if opt_out and term is not None and term.membership_id == membership.id:
        _follow_at_once(db, community, term, who=who, today=today, outcome=outcome,
                        flow_run_id=flow_run_id,
                        why=f"{membership.person.name} opted out of leading while planning lead")
    return membership

