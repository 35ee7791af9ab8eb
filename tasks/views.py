"""Read-only views of a CoP, as plain dicts the CLI prints as text or JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.tables import AuditEntry, Community, HealthRecord
from tasks.community_store import (
    current_members,
    current_term,
    get_community,
    missing_for_launch,
    open_tasks,
    sessions_held,
    sponsors_of,
)


def community_summary(db: Session, community: Community) -> dict[str, Any]:
    return {"slug": community.slug, "name": community.name, "stage": community.stage}


def list_communities(db: Session) -> list[dict[str, Any]]:
    return [community_summary(db, c) for c in db.scalars(select(Community).order_by(Community.slug))]


def show_community(db: Session, slug: str) -> dict[str, Any]:
    community = get_community(db, slug)
    term = current_term(db, community)
    members = current_members(db, community)
    successor = db.get(Community, community.successor_id) if community.successor_id else None
    predecessors = db.scalars(select(Community.slug).where(Community.successor_id == community.id)).all()
    return {
        "slug": community.slug,
        "name": community.name,
        "stage": community.stage,
        "domain": community.domain,
        "practice": community.practice,
        "cadence": community.cadence,
        "sponsor_reports": community.sponsor_reports,
        "rotate_every_sessions": community.rotate_every_sessions,
        "first_session": community.first_session.isoformat() if community.first_session else None,
        "format": community.format,
        "location": community.location,
        "sessions_held": sessions_held(db, community),
        "missing_for_launch": missing_for_launch(db, community) if community.stage == "proposed" else [],
        "convenor": next(
            ({"name": m.person.name, "email": m.person.email} for m in members if m.is_convenor), None
        ),
        "planning_lead": (
            {"name": term.membership.person.name, "email": term.membership.person.email,
             "since": str(term.started_on)} if term else None
        ),
        "members": [
            {
                "name": m.person.name,
                "email": m.person.email,
                "kind": m.kind,
                "roles": [r for r, on in (("convenor", m.is_convenor),
                                          ("planning group", m.planning_group and not m.is_convenor),
                                          ("volunteer", m.volunteered),
                                          ("opted out of leading", m.opted_out)) if on],
            }
            for m in members
        ],
        "sponsors": [
            {"name": s.person.name, "email": s.person.email, "organisation": s.organisation}
            for s in sponsors_of(db, community)
        ],
        "open_tasks": [
            {"id": t.id, "title": t.title, "due": str(t.due) if t.due else None,
             "owner": t.owner.person.name}
            for t in open_tasks(db, community)
        ],
        "closing": (
            {"reason": community.close_reason, "since": str(community.closing_since),
             "notice_ends_on": str(community.notice_ends_on)}
            if community.closing_since else None
        ),
        "successor": successor.slug if successor else None,
        "predecessors": list(predecessors),
        "archive": community.archive_uri,
    }


def audit_trail(db: Session, slug: str) -> list[dict[str, Any]]:
    community = get_community(db, slug)
    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.community_id == community.id).order_by(AuditEntry.id)
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
        }
        for e in entries
    ]


def stored_health(db: Session, slug: str | None) -> list[dict[str, Any]]:
    """The latest stored health check of one CoP, or of every active CoP (reads only)."""
    latest = (select(HealthRecord.community_id, func.max(HealthRecord.on_date).label("on_date"))
              .group_by(HealthRecord.community_id).subquery())
    query = (select(Community.slug, HealthRecord)
             .join(latest, latest.c.community_id == Community.id)
             .join(HealthRecord, (HealthRecord.community_id == Community.id)
                   & (HealthRecord.on_date == latest.c.on_date)))
    if slug is not None:
        query = query.where(Community.id == get_community(db, slug).id)
    else:
        query = query.where(Community.stage == "active")
    return [
        {"slug": cop, "checked_on": str(r.on_date), "figures": r.figures, "signals": r.signals,
         "flow_run_id": r.flow_run_id}
        for cop, r in db.execute(query.order_by(Community.slug))
    ]
