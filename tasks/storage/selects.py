"""The questions both the ORM queries (queries.py) and the read views (views.py) ask, each
written once on the Core tables of models/db/schema.py.

A full question is a Core `select()`; where the ORM needs its own objects back, the question is
the filter and order that narrow any select (Core columns or ORM classes, the tables are the
same). Core only: the read-only commands import this, and must not load the ORM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Select, and_, exists, func, select

from models.db.schema import (
    community,
    cop_session,
    membership,
    planning_task,
    role_term,
    sponsor,
)
from models.lifecycle import missing_for_launch as launch_gaps

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

S = TypeVar("S", bound=Select[Any])


def named(query: S, slug: str) -> S:
    """The CoP with this slug."""
    return query.where(community.c.slug == slug)


def current_members(query: S, community_id: int) -> S:
    """A CoP's current members, in the order they joined."""
    return query.where(membership.c.community_id == community_id,
                       membership.c.left_on.is_(None)).order_by(membership.c.id)


def sponsors_of(query: S, community_id: int) -> S:
    return query.where(sponsor.c.community_id == community_id).order_by(sponsor.c.id)


def open_term(query: S, community_id: Any) -> S:
    """The planning lead's open term. Should more than one be open (an older copflow's bug, a hand
    edit), the lead's is the one begun last (models.rota.lead_term)."""
    return (query.where(role_term.c.community_id == community_id, role_term.c.ended_on.is_(None))
            .order_by(role_term.c.started_on.desc(), role_term.c.id.desc()).limit(1))


def open_tasks(query: S, community_id: int) -> S:
    """Open planning tasks, soonest due first (undated last)."""
    return (query.where(planning_task.c.community_id == community_id, planning_task.c.status == "open")
            .order_by(planning_task.c.due.is_(None), planning_task.c.due, planning_task.c.id))


def sessions_held(community_id: int) -> Select[Any]:
    return select(func.count()).select_from(cop_session).where(cop_session.c.community_id == community_id)


def launch_facts(community_id: int) -> Select[Any]:
    """What the launch guard counts, in one row: the charter's words, whether a current convenor
    is there, how many sponsors, and how many current members besides the convenor."""
    current = and_(membership.c.community_id == community_id, membership.c.left_on.is_(None))
    return select(
        community.c.domain, community.c.practice, community.c.cadence,
        exists().where(current, membership.c.is_convenor).label("has_convenor"),
        select(func.count()).select_from(sponsor).where(sponsor.c.community_id == community_id)
        .scalar_subquery().label("sponsors"),
        select(func.count()).select_from(membership).where(current, ~membership.c.is_convenor)
        .scalar_subquery().label("members"),
    ).where(community.c.id == community_id)


def missing_for_launch(db: Connection | Session, community_id: int) -> list[str]:
    """What the CoP's charter still lacks before it may launch (models.lifecycle's rule)."""
    row = db.execute(launch_facts(community_id)).one()
    return launch_gaps(domain=row.domain, practice=row.practice, has_convenor=bool(row.has_convenor),
                       sponsors=row.sponsors, members=row.members, cadence=row.cadence)
