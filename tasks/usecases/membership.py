"""Members joining, leaving, volunteering to lead or opting out."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from models.charter import MemberKind
from models.db.tables import (
    Membership,
)
from models.errors import BadInput, Refused
from models.lifecycle import Stage, require_writable
from tasks.storage import audit
from tasks.storage.queries import (
    current_term,
    get_community,
    membership_of,
    require_member,
    sponsorship_of,
)
from tasks.usecases.acting import require_decider, resolve_actor
from tasks.usecases.communities import find_or_add_person


def add_member(
    db: Session, slug: str, *, name: str, email: str, kind: MemberKind, planning_group: bool,
    actor: str | None, today: date,
) -> Membership:
    community = get_community(db, slug)
    require_writable(Stage(community.stage), slug)
    who = resolve_actor(db, community, actor)
    require_decider(db, community, who)
    if sponsorship_of(db, community, email) is not None:
        raise Refused(f"{email} is a sponsor of {slug}; sponsors are kept outside the community")
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


def leave(db: Session, slug: str, email: str, *, actor: str | None, today: date) -> Membership:
    community = get_community(db, slug)
    require_writable(Stage(community.stage), slug)
    membership = require_member(db, community, email)
    who = resolve_actor(db, community, actor)
    if who != membership.person.email:
        require_decider(db, community, who)
    if membership.is_convenor:
        # Every CoP keeps a convenor: they start it, record sessions and trigger its stages.
        raise Refused(f"{membership.person.email} is the convenor of {slug}; the convenor cannot leave")
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
    db: Session, slug: str, email: str, *, opt_out: bool, actor: str | None, today: date
) -> Membership:
    community = get_community(db, slug)
    require_writable(Stage(community.stage), slug)
    if sponsorship_of(db, community, email) is not None:
        raise Refused(f"{email} is a sponsor of {slug}; sponsors never lead planning")
    membership = require_member(db, community, email)
    who = resolve_actor(db, community, actor)
    # Members may volunteer or opt out for themselves; otherwise the convenor or planning group.
    if who != membership.person.email:
        require_decider(db, community, who)
    before = {"volunteered": membership.volunteered, "opted_out": membership.opted_out,
              "planning_group": membership.planning_group}
    if opt_out:
        membership.opted_out, membership.volunteered = True, False
    else:
        # Volunteering to lead puts a member on the planning group.
        membership.opted_out, membership.volunteered, membership.planning_group = False, True, True
    after = {"volunteered": membership.volunteered, "opted_out": membership.opted_out,
             "planning_group": membership.planning_group}
    audit.record(db, community, actor=who,
                 action="member.opted-out" if opt_out else "member.volunteered",
                 on_date=today, before={"member": membership.person.email, **before},
                 after={"member": membership.person.email, **after})
    return membership

