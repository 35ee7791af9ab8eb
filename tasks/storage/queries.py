"""Reading a CoP and the people in it. No Prefect here: read-only commands use it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from models.db.tables import (
    Community,
    Membership,
    Person,
    PlanningTask,
    RoleTerm,
    Sponsorship,
)
from models.errors import BadInput
from models.lifecycle import Role, require_found
from models.rota import Candidate
from tasks.storage import selects


def get_community(db: Session, slug: str, *, for_update: bool = False) -> Community:
    stmt = selects.named(select(Community), slug)
    if for_update:
        stmt = stmt.with_for_update()
    community = db.scalars(stmt).one_or_none()
    require_found(slug, None if community is None else community.stage)
    assert community is not None
    return community


def person_by_email(db: Session, email: str) -> Person | None:
    return db.scalars(select(Person).where(Person.email == email.strip().lower())).one_or_none()


def membership_of(db: Session, community: Community, email: str) -> Membership | None:
    return db.scalars(
        select(Membership)
        .join(Person)
        .where(Membership.community_id == community.id, Person.email == email.strip().lower())
    ).one_or_none()


def sponsorship_of(db: Session, community: Community, email: str) -> Sponsorship | None:
    return db.scalars(
        select(Sponsorship)
        .join(Person)
        .where(Sponsorship.community_id == community.id, Person.email == email.strip().lower())
    ).one_or_none()


def role_of(db: Session, community: Community, email: str) -> Role:
    """How the rules of section 2 see this person in this CoP."""
    if sponsorship_of(db, community, email) is not None:
        return Role.sponsor
    membership = membership_of(db, community, email)
    if membership is None:
        return Role.stranger
    if membership.left_on is not None:
        return Role.former_member
    if membership.is_convenor:
        return Role.convenor
    if membership.planning_group:
        return Role.planning_group
    return Role.member


def require_member(db: Session, community: Community, email: str) -> Membership:
    membership = membership_of(db, community, email)
    if membership is None or membership.left_on is not None:
        raise BadInput(f"{email} is not a current member of {community.slug}")
    return membership


def current_members(db: Session, community: Community) -> list[Membership]:
    return list(db.scalars(selects.current_members(
        select(Membership).options(selectinload(Membership.person)), community.id)))


def sponsors_of(db: Session, community: Community) -> list[Sponsorship]:
    return list(db.scalars(selects.sponsors_of(
        select(Sponsorship).options(selectinload(Sponsorship.person)), community.id)))


def current_term(db: Session, community: Community) -> RoleTerm | None:
    return db.scalars(selects.open_term(
        select(RoleTerm).options(selectinload(RoleTerm.membership).selectinload(Membership.person)),
        community.id)).one_or_none()


def sessions_held(db: Session, community: Community) -> int:
    return db.scalar(selects.sessions_held(community.id)) or 0


def open_tasks(db: Session, community: Community, owner_id: int | None = None) -> list[PlanningTask]:
    stmt = selects.open_tasks(
        select(PlanningTask).options(selectinload(PlanningTask.owner).selectinload(Membership.person)),
        community.id)
    if owner_id is not None:
        stmt = stmt.where(PlanningTask.owner_id == owner_id)
    return list(db.scalars(stmt))


def rota_candidates(db: Session, community_ids: Sequence[int]) -> dict[int, list[Candidate]]:
    """Each CoP's current members as the rota sees them, with their record of service, read for
    a whole page of CoPs in three queries (a CoP with nobody: an empty list)."""
    ids = list(community_ids)
    served: dict[int, tuple[int, date | None]] = {
        mid: (count, last) for mid, count, last in db.execute(
            select(RoleTerm.membership_id, func.count(),
                   func.max(func.coalesce(RoleTerm.ended_on, RoleTerm.started_on)))
            .where(RoleTerm.community_id.in_(ids)).group_by(RoleTerm.membership_id))}
    sponsors: dict[int, set[int]] = defaultdict(set)
    for cid, pid in db.execute(select(Sponsorship.community_id, Sponsorship.person_id)
                               .where(Sponsorship.community_id.in_(ids))):
        sponsors[cid].add(pid)
    candidates: dict[int, list[Candidate]] = {cid: [] for cid in ids}
    for m in db.execute(
        select(Membership.id, Membership.community_id, Membership.person_id, Membership.planning_group,
               Membership.volunteered, Membership.opted_out, Membership.is_convenor,
               Membership.joined_on, Person.name)
        .join(Person, Membership.person_id == Person.id)
        .where(Membership.community_id.in_(ids), Membership.left_on.is_(None)).order_by(Membership.id)
    ):
        terms, last = served.get(m.id, (0, None))
        candidates[m.community_id].append(Candidate(
            membership_id=m.id, name=m.name, planning_group=m.planning_group,
            volunteered=m.volunteered, opted_out=m.opted_out, is_convenor=m.is_convenor,
            is_sponsor=m.person_id in sponsors[m.community_id], terms_served=terms,
            last_served_until=last, joined_on=m.joined_on))
    return candidates


def convenor_of(db: Session, community: Community) -> Membership | None:
    return next((m for m in current_members(db, community) if m.is_convenor), None)

