"""Members joining, leaving, volunteering to lead or opting out."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from models.db.tables import (
    Community,
    Membership,
)
from models.errors import BadInput
from models.membership import require_may_leave, require_not_sponsor
from models.vocabulary import MemberKind
from tasks.storage import audit
from tasks.storage.queries import (
    current_term,
    membership_of,
    require_member,
    sponsorship_of,
)
from tasks.usecases.acting import ActorRef, acting_decider
from tasks.usecases.communities import find_or_add_person


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


def leave(db: Session, slug: str, email: str, *, actor: ActorRef | None, today: date) -> Membership:
    # A member may leave of their own accord; anyone else needs a decider.
    community, who = acting_decider(
        db, slug, actor, for_self=lambda cop: require_member(db, cop, email).person.email)
    membership = require_member(db, community, email)
    require_may_leave(membership.is_convenor, membership.person.email or email, slug)
    membership.left_on = today
    term = current_term(db, community)
    after: dict[str, object] = {"member": membership.person.email, "left_on": str(today)}
    if term is not None and term.membership_id == membership.id:
        term.ended_on = today
        after["planning_lead_term_ended"] = True
    audit.record(db, community, actor=who, action="member.left", on_date=today,
                 before={"member": membership.person.email, "left_on": None}, after=after)
    return membership


def volunteer(
    db: Session, slug: str, email: str, *, opt_out: bool, actor: ActorRef | None, today: date
) -> Membership:
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
                 after={"member": membership.person.email, **after})
    return membership

