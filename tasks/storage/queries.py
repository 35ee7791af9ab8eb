"""Reading a CoP and the people in it. No Prefect here: read-only commands use it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from models.db.tables import (
    Community,
    CopSession,
    Membership,
    Person,
    PlanningTask,
    RoleTerm,
    Sponsorship,
)
from models.errors import BadInput
from models.lifecycle import Role, Stage, require_found
from models.lifecycle import missing_for_launch as launch_gaps
from models.rota import Candidate


def get_community(db: Session, slug: str, *, for_update: bool = False) -> Community:
    stmt = select(Community).where(Community.slug == slug)
    if for_update:
        stmt = stmt.with_for_update()
    community = db.scalars(stmt).one_or_none()
    require_found(slug, None if community is None else community.stage)
    assert community is not None
    return community


def stage_of(community: Community) -> Stage:
    return Stage(community.stage)


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
    return list(
        db.scalars(
            select(Membership)
            .options(selectinload(Membership.person))
            .where(Membership.community_id == community.id, Membership.left_on.is_(None))
            .order_by(Membership.id)
        )
    )


def sponsors_of(db: Session, community: Community) -> list[Sponsorship]:
    return list(
        db.scalars(
            select(Sponsorship)
            .options(selectinload(Sponsorship.person))
            .where(Sponsorship.community_id == community.id)
            .order_by(Sponsorship.id)
        )
    )


def current_term(db: Session, community: Community) -> RoleTerm | None:
    return db.scalars(
        select(RoleTerm)
        .options(selectinload(RoleTerm.membership).selectinload(Membership.person))
        .where(RoleTerm.community_id == community.id, RoleTerm.ended_on.is_(None))
    ).one_or_none()


def sessions_held(db: Session, community: Community) -> int:
    return db.scalar(
        select(func.count()).select_from(CopSession).where(CopSession.community_id == community.id)
    ) or 0


def open_tasks(db: Session, community: Community, owner_id: int | None = None) -> list[PlanningTask]:
    stmt = (
        select(PlanningTask)
        .options(selectinload(PlanningTask.owner).selectinload(Membership.person))
        .where(PlanningTask.community_id == community.id, PlanningTask.status == "open")
        .order_by(PlanningTask.due.is_(None), PlanningTask.due, PlanningTask.id)
    )
    if owner_id is not None:
        stmt = stmt.where(PlanningTask.owner_id == owner_id)
    return list(db.scalars(stmt))


def rota_candidates(db: Session, community: Community) -> list[Candidate]:
    """Every current member as the rota sees them, with their record of service."""
    terms = db.execute(
        select(RoleTerm.membership_id, func.count(), func.max(func.coalesce(RoleTerm.ended_on, RoleTerm.started_on)))
        .where(RoleTerm.community_id == community.id)
        .group_by(RoleTerm.membership_id)
    ).all()
    served = {mid: (count, last) for mid, count, last in terms}
    sponsor_people = {s.person_id for s in sponsors_of(db, community)}
    return [
        Candidate(
            membership_id=m.id,
            name=m.person.name,
            planning_group=m.planning_group,
            volunteered=m.volunteered,
            opted_out=m.opted_out,
            is_convenor=m.is_convenor,
            is_sponsor=m.person_id in sponsor_people,
            terms_served=served.get(m.id, (0, None))[0],
            last_served_until=served.get(m.id, (0, None))[1],
            joined_on=m.joined_on,
        )
        for m in current_members(db, community)
    ]


def missing_for_launch(db: Session, community: Community) -> list[str]:
    members = [m for m in current_members(db, community) if not m.is_convenor]
    convenor = next((m for m in current_members(db, community) if m.is_convenor), None)
    return launch_gaps(
        domain=community.domain,
        practice=community.practice,
        convenor=convenor,
        sponsors=len(sponsors_of(db, community)),
        members=len(members),
        cadence=community.cadence,
    )


def convenor_of(db: Session, community: Community) -> Membership | None:
    return next((m for m in current_members(db, community) if m.is_convenor), None)

