"""What the record pages show of one CoP: its people and its tasks (Core reads, one short
read-only transaction each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from models.db.schema import community, membership, person, role_term
from tasks.storage import selects
from tasks.storage.db import read_scope


@dataclass(frozen=True)
class Person:
    person_id: int
    name: str
    email: str | None
    kind: str | None
    is_convenor: bool
    planning_group: bool
    leads: bool


@dataclass(frozen=True)
class CopPeople:
    format: str
    members: list[Person]


def people_of(slug: str) -> CopPeople:
    """Current members in the order they joined, with the CoP's usual format."""
    with read_scope() as db:
        cop = db.execute(select(community.c.id, community.c.format).where(community.c.slug == slug)).one()
        lead = db.scalar(selects.open_term(select(role_term.c.membership_id), cop.id))
        rows = db.execute(selects.current_members(
            select(membership, person.c.name, person.c.email)
            .join(person, person.c.id == membership.c.person_id), cop.id)).all()
    return CopPeople(cop.format, [Person(r.person_id, r.name, r.email, r.kind, r.is_convenor, r.planning_group,
                                         r.id == lead) for r in rows])


def tasks_of(slug: str, today: date) -> list[dict[str, Any]]:
    """Every planning task, open ones first (as `copflow task list`)."""
    from tasks.storage.session_views import task_list

    with read_scope() as db:
        cop_id = db.scalar(select(community.c.id).where(community.c.slug == slug))
        return task_list(db, cop_id, today) if cop_id is not None else []


def email_of(slug: str, person_id: int, current: bool = True) -> str | None:
    """The address of one of the CoP's people (a form names them by person id, never address)."""
    with read_scope() as db:
        query = (select(person.c.email).join(membership, membership.c.person_id == person.c.id)
                 .join(community, community.c.id == membership.c.community_id)
                 .where(community.c.slug == slug, person.c.id == person_id))
        if current:
            query = query.where(membership.c.left_on.is_(None))
        return db.scalar(query) if 0 < person_id < 2**63 else None
