"""Creating a CoP from its charter."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.charter import Charter
from models.db.tables import (
    Community,
    Membership,
    Person,
    Sponsorship,
)
from models.errors import BadInput
from models.lifecycle import Stage
from tasks.storage import audit
from tasks.storage.queries import (
    person_by_email,
)


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def find_or_add_person(db: Session, name: str, email: str, field: str) -> Person:
    """The one person with this email; a second name for them is refused, not silently dropped."""
    person = person_by_email(db, email)
    if person is None:
        person = Person(name=name, email=email)
        db.add(person)
        db.flush()
    elif not _same_name(person.name, name):
        raise BadInput(f"{field}: {email} is already recorded as '{person.name}'; use that name")
    return person


def create_community(db: Session, charter: Charter, today: date) -> Community:
    assert charter.slug is not None
    if db.scalar(select(Community.id).where(Community.slug == charter.slug)) is not None:
        raise BadInput(f"slug: a CoP called '{charter.slug}' already exists")
    community = Community(
        slug=charter.slug,
        name=charter.name,
        domain=charter.domain,
        practice=charter.practice,
        cadence=charter.cadence.value if charter.cadence else None,
        sponsor_reports=charter.sponsor_reports.value,
        rotate_every_sessions=charter.rotate_every_sessions,
        first_session=charter.first_session.replace(tzinfo=None) if charter.first_session else None,
        session_minutes=charter.session_minutes,
        format=charter.format.value,
        location=charter.location,
        stage=Stage.proposed.value,
        created_on=today,
    )
    db.add(community)
    db.flush()
    if charter.convenor is not None:
        person = find_or_add_person(db, charter.convenor.name, charter.convenor.email, "convenor.name")
        db.add(Membership(community_id=community.id, person_id=person.id, is_convenor=True,
                          planning_group=True, joined_on=today))
    for i, member in enumerate(charter.members):
        person = find_or_add_person(db, member.name, member.email, f"members[{i}].name")
        db.add(Membership(community_id=community.id, person_id=person.id, kind=member.kind.value,
                          planning_group=member.planning_group, joined_on=today))
    for i, sponsor in enumerate(charter.sponsors):
        person = find_or_add_person(db, sponsor.name, sponsor.email, f"sponsors[{i}].name")
        db.add(Sponsorship(community_id=community.id, person_id=person.id,
                           organisation=sponsor.organisation, added_on=today))
    db.flush()
    actor = charter.convenor.email if charter.convenor else "charter"
    audit.record(db, community, actor=actor, action="community.created", on_date=today,
                 why="created from a charter",
                 after={"stage": "proposed", "charter": charter.model_dump(mode="json")})
    return community

