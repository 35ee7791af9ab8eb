"""Read-only views of a CoP, as plain dicts the CLI prints as text or JSON.

Core `select()`s on a connection (tasks.storage.db.read_scope), not the ORM: a read-only command
then loads neither the ORM nor the mapped classes, which is most of its start-up time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, func, select

from models.db.schema import (
    audit_entry,
    community,
    health_record,
    membership,
    person,
    planning_task,
    role_term,
    sponsor,
)
from models.lifecycle import Stage, require_found
from models.stages import HEALTH_STAGES, LAUNCHES_FROM, values, was_withdrawn
from tasks.storage import selects


def _community(db: Connection, slug: str) -> Row[*tuple[Any, ...]]:
    """The CoP's row; the same errors as queries.get_community."""
    row = db.execute(selects.named(select(community), slug)).one_or_none()
    require_found(slug, None if row is None else row.stage)
    assert row is not None
    return row


def list_communities(db: Connection) -> list[dict[str, Any]]:
    rows = db.execute(select(community.c.slug, community.c.name, community.c.stage)
                      .order_by(community.c.slug))
    return [{"slug": c.slug, "name": c.name, "stage": c.stage} for c in rows]


def _members(db: Connection, community_id: int) -> list[Row[*tuple[Any, ...]]]:
    """Current members with their names, in the order they joined (as current_members)."""
    return list(db.execute(selects.current_members(
        select(membership, person.c.name, person.c.email)
        .join(person, person.c.id == membership.c.person_id), community_id)))


def _planning_lead(db: Connection, community_id: int) -> Row[*tuple[Any, ...]] | None:
    """The open term, as current_term: more than one open term is an error, not a choice."""
    return db.execute(selects.open_term(
        select(role_term.c.started_on, person.c.name, person.c.email)
        .join(membership, membership.c.id == role_term.c.membership_id)
        .join(person, person.c.id == membership.c.person_id), community_id)).one_or_none()


def _sponsors(db: Connection, community_id: int) -> list[Row[*tuple[Any, ...]]]:
    return list(db.execute(selects.sponsors_of(
        select(sponsor.c.organisation, person.c.name, person.c.email)
        .join(person, person.c.id == sponsor.c.person_id), community_id)))


def _open_tasks(db: Connection, community_id: int) -> list[Row[*tuple[Any, ...]]]:
    """Open planning tasks, soonest due first (as queries.open_tasks)."""
    return list(db.execute(selects.open_tasks(
        select(planning_task.c.id, planning_task.c.title, planning_task.c.due, person.c.name)
        .join(membership, membership.c.id == planning_task.c.owner_id)
        .join(person, person.c.id == membership.c.person_id), community_id)))


def show_community(db: Connection, slug: str) -> dict[str, Any]:
    cop = _community(db, slug)
    from tasks.storage.session_views import next_session_of

    return {**_charter_of(cop), **_people_of(db, cop), **_progress_of(db, cop), **next_session_of(db, cop)}


def _charter_of(cop: Row[*tuple[Any, ...]]) -> dict[str, Any]:
    """What the charter said, as stored."""
    return {
        "slug": cop.slug,
        "name": cop.name,
        "stage": cop.stage,
        "domain": cop.domain,
        "practice": cop.practice,
        "cadence": cop.cadence,
        "sponsor_reports": cop.sponsor_reports,
        "rotate_every_sessions": cop.rotate_every_sessions,
        "first_session": cop.first_session.isoformat() if cop.first_session else None,
        "format": cop.format,
        "location": cop.location,
    }


def _roles(m: Row[*tuple[Any, ...]]) -> list[str]:
    return [r for r, on in (("convenor", m.is_convenor),
                            ("planning group", m.planning_group and not m.is_convenor),
                            ("volunteer", m.volunteered),
                            ("opted out of leading", m.opted_out)) if on]


def _people_of(db: Connection, cop: Row[*tuple[Any, ...]]) -> dict[str, Any]:
    """The people and their roles: convenor, planning lead, members, sponsors."""
    term = _planning_lead(db, cop.id)
    members = _members(db, cop.id)
    convenor = next((m for m in members if m.is_convenor), None)
    return {
        "convenor": {"name": convenor.name, "email": convenor.email} if convenor else None,
        "planning_lead": (
            {"name": term.name, "email": term.email, "since": str(term.started_on)} if term else None
        ),
        "members": [{"name": m.name, "email": m.email, "kind": m.kind, "roles": _roles(m)} for m in members],
        "sponsors": [
            {"name": s.name, "email": s.email, "organisation": s.organisation} for s in _sponsors(db, cop.id)
        ],
    }


def _progress_of(db: Connection, cop: Row[*tuple[Any, ...]]) -> dict[str, Any]:
    """Where the CoP is in its life: sessions, what launch still needs, tasks, closing, successors."""
    successor = (db.scalar(select(community.c.slug).where(community.c.id == cop.successor_id))
                 if cop.successor_id else None)
    predecessors = db.scalars(select(community.c.slug).where(community.c.successor_id == cop.id)).all()
    return {
        "sessions_held": db.scalar(selects.sessions_held(cop.id)) or 0,
        "missing_for_launch": (selects.missing_for_launch(db, cop.id)
                               if cop.stage == LAUNCHES_FROM.value else []),
        "open_tasks": [
            {"id": t.id, "title": t.title, "due": str(t.due) if t.due else None, "owner": t.name}
            for t in _open_tasks(db, cop.id)
        ],
        "closing": (
            {"reason": cop.close_reason, "since": str(cop.closing_since),
             "notice_ends_on": str(cop.notice_ends_on)}
            if cop.closing_since else None
        ),
        "withdrawn": (
            {"on": str(cop.archived_on), "reason": cop.close_reason}
            if was_withdrawn(Stage(cop.stage), cop.closing_since) else None
        ),
        "successor": successor,
        "predecessors": list(predecessors),
        "archive": cop.archive_uri,
    }


def audit_trail(db: Connection, slug: str) -> list[dict[str, Any]]:
    cop = _community(db, slug)
    entries = db.execute(
        select(audit_entry).where(audit_entry.c.community_id == cop.id).order_by(audit_entry.c.id)
    )
    return [
        {
            "id": e.id,
            "on": str(e.on_date),
            "at": e.recorded_at.isoformat(timespec="seconds"),
            "actor": e.actor,
            "action": e.action,
            "why": e.why,
            "before": e.before,
            "after": e.after,
            "flow_run_id": e.flow_run_id,
            "operator": e.operator,
            "channel": e.channel,
        }
        for e in entries
    ]


def stored_health(db: Connection, slug: str | None) -> list[dict[str, Any]]:
    """The latest stored health check of one CoP, or of every active CoP (reads only)."""
    latest = (select(health_record.c.community_id,
                     func.max(health_record.c.on_date).label("on_date"))
              .group_by(health_record.c.community_id).subquery())
    query = (select(community.c.slug, health_record.c.on_date, health_record.c.figures,
                    health_record.c.signals, health_record.c.flow_run_id)
             .join(latest, latest.c.community_id == community.c.id)
             .join(health_record, (health_record.c.community_id == community.c.id)
                   & (health_record.c.on_date == latest.c.on_date)))
    if slug is not None:
        query = query.where(community.c.id == _community(db, slug).id)
    else:
        query = query.where(community.c.stage.in_(values(HEALTH_STAGES)))
    return [
        {"slug": r.slug, "checked_on": str(r.on_date), "figures": r.figures, "signals": r.signals,
         "flow_run_id": r.flow_run_id}
        for r in db.execute(query.order_by(community.c.slug))
    ]
