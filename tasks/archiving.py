"""Archive: final sponsor report, the archive bundle, closing -> archived (one transaction).

The bundle (under settings.archive_root, any fsspec URL) holds community.json (machine
readable), summary.md (rendered from templates/archive/) and SHA256SUMS. Members appear by
name and kind only: no email address or other contact detail is written. It is written to a
temporary folder and then renamed, so it is either absent or complete.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import date
from typing import Any

import fsspec
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models.errors import Refused
from models.lifecycle import ArchiveReadiness, Stage
from models.tables import (
    Attendance,
    AuditEntry,
    Community,
    CopSession,
    HealthRecord,
    Membership,
    PlanningTask,
    RoleTerm,
)
from tasks import audit
from tasks.community_store import current_term, sponsors_of
from tasks.crashpoints import crash_point
from tasks.rendering import render
from tasks.settings import get_settings
from tasks.sponsor_reports import queue_final_report
from tasks.stage_change import SCHEDULE, Outcome, acting_decider, change_stage

BUNDLE_FILES = ("community.json", "summary.md")
EMAIL_LIKE = re.compile(r"[^\s<>()\"',;:]+@[^\s<>()\"',;:]+\.[A-Za-z]{2,}")
PHONE_LIKE = re.compile(r"(?<!\w)(?:\+?\d[\d ()-]{8,}\d)(?!\w)")


def scrub(text: str | None) -> str | None:
    """Free text (notes, stories) may hold contact details people typed; leave them out."""
    if text is None:
        return None
    return PHONE_LIKE.sub("[number removed]", EMAIL_LIKE.sub("[address removed]", text))


def check_archive(db: Session, slug: str, actor: str | None, *, now: bool, today: date) -> tuple[Community, str]:
    community, who = acting_decider(db, slug, actor)
    if community.stage != Stage.closing.value:
        raise Refused(f"{slug} is {community.stage}; only a closing CoP can be archived")
    ends = community.notice_ends_on
    ArchiveReadiness(notice_over=ends is not None and today >= ends, forced=now).check(slug, ends)
    return community, who


def due_for_archive(db: Session, today: date) -> list[str]:
    return list(db.scalars(select(Community.slug).where(
        Community.stage == Stage.closing.value, Community.notice_ends_on <= today)
        .order_by(Community.slug)))


def _names(db: Session, community: Community) -> dict[str, str]:
    """Email -> name for everyone in this CoP, so the bundle can say who acted without addresses."""
    people = db.scalars(select(Membership).options(selectinload(Membership.person))
                        .where(Membership.community_id == community.id))
    names = {m.person.email: m.person.name for m in people if m.person.email}
    names.update({s.person.email: f"{s.person.name} (sponsor)" for s in sponsors_of(db, community)
                  if s.person.email})
    return names


def bundle_data(db: Session, community: Community, *, today: date) -> dict[str, Any]:
    names = _names(db, community)
    members = list(db.scalars(select(Membership).options(selectinload(Membership.person))
                              .where(Membership.community_id == community.id).order_by(Membership.id)))
    sessions = list(db.scalars(select(CopSession).options(
        selectinload(CopSession.attendance).selectinload(Attendance.membership)
        .selectinload(Membership.person))
        .where(CopSession.community_id == community.id).order_by(CopSession.held_on)))
    tasks = db.scalars(select(PlanningTask).options(selectinload(PlanningTask.owner)
                                                    .selectinload(Membership.person))
                       .where(PlanningTask.community_id == community.id).order_by(PlanningTask.id))
    terms = db.scalars(select(RoleTerm).options(selectinload(RoleTerm.membership)
                                                .selectinload(Membership.person))
                       .where(RoleTerm.community_id == community.id).order_by(RoleTerm.id))
    stages = db.scalars(select(AuditEntry).where(AuditEntry.community_id == community.id,
                                                 AuditEntry.action == "stage.changed")
                        .order_by(AuditEntry.id))
    health = db.scalars(select(HealthRecord).where(HealthRecord.community_id == community.id)
                        .order_by(HealthRecord.on_date))
    successor = db.get(Community, community.successor_id) if community.successor_id else None
    predecessors = db.scalars(select(Community).where(Community.successor_id == community.id)
                              .order_by(Community.slug))

    def who(actor: str) -> str:
        return names.get(actor, "copflow" if "@" not in actor else "someone outside the CoP")

    def link(c: Community) -> dict[str, str]:
        return {"slug": c.slug, "name": c.name}

    return {
        "format": "copflow-archive/1",
        "archived_on": str(today),
        "charter": {
            "name": community.name, "slug": community.slug, "domain": scrub(community.domain),
            "practice": scrub(community.practice), "cadence": community.cadence,
            "sponsor_reports": community.sponsor_reports,
            "rotate_every_sessions": community.rotate_every_sessions,
            "format": community.format, "session_minutes": community.session_minutes,
            "first_session": community.first_session.isoformat() if community.first_session else None,
            "sponsors": [{"name": s.person.name, "organisation": s.organisation}
                         for s in sponsors_of(db, community)],
        },
        "members": [{"name": m.person.name, "kind": "convenor" if m.is_convenor else m.kind,
                     "planning_group": m.planning_group, "joined_on": str(m.joined_on),
                     "left_on": str(m.left_on) if m.left_on else None} for m in members],
        "stage_history": [{"on": str(e.on_date), "from": (e.before or {}).get("stage"),
                           "to": (e.after or {}).get("stage"), "by": who(e.actor),
                           "why": scrub(e.why)} for e in stages],
        "closing": {"reason": scrub(community.close_reason), "since": str(community.closing_since),
                    "notice_ended_on": str(community.notice_ends_on)},
        "sessions": [{"held_on": str(s.held_on), "format": s.format, "topics": s.topics,
                      "methods": s.methods, "outputs": [scrub(o) for o in s.outputs],
                      "story": scrub(s.story), "attended": len(s.attendance),
                      "attendees": sorted(a.membership.person.name for a in s.attendance)}
                     for s in sessions],
        "topics": list(dict.fromkeys(t for s in sessions for t in s.topics)),
        "tasks": [{"title": scrub(t.title), "notes": scrub(t.notes),
                   "due": str(t.due) if t.due else None, "status": t.status,
                   "owner": t.owner.person.name, "done_on": str(t.done_on) if t.done_on else None}
                  for t in tasks],
        "role_terms": [{"planning_lead": t.membership.person.name, "started_on": str(t.started_on),
                        "ended_on": str(t.ended_on) if t.ended_on else None} for t in terms],
        "health_history": [{"on": str(h.on_date), "figures": h.figures, "signals": h.signals}
                           for h in health],
        "successor": link(successor) if successor else None,
        "predecessors": [link(p) for p in predecessors],
    }


def write_bundle(data: dict[str, Any], slug: str, root: str | None = None) -> str:
    """Write the bundle to <root>/<slug>/ atomically (temp folder, then rename); return its URL."""
    root = (root or get_settings().archive_root).rstrip("/")
    fs, base = fsspec.core.url_to_fs(root)
    final, temp = f"{base}/{slug}", f"{base}/.{slug}.{uuid.uuid4().hex}.tmp"
    files = {
        "community.json": json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n",
        "summary.md": render("archive/summary.md", data=data),
    }
    for leftover in fs.glob(f"{base}/.{slug}.*.tmp"):
        # Half-written by an attempt that died: never part of an archive.
        fs.rm(leftover, recursive=True)
    fs.makedirs(temp, exist_ok=True)
    sums = []
    for name, text in files.items():
        body = text.encode()
        with fs.open(f"{temp}/{name}", "wb") as f:
            f.write(body)
        sums.append(f"{hashlib.sha256(body).hexdigest()}  {name}\n")
        crash_point("archive.file-written")
    with fs.open(f"{temp}/SHA256SUMS", "wb") as f:
        f.write("".join(sums).encode())
    crash_point("archive.file-written")
    if fs.exists(final):
        # Left by an earlier attempt whose transaction did not commit: the CoP is not archived.
        fs.rm(final, recursive=True)
    fs.mv(temp, final, recursive=True)
    crash_point("archive.bundle-written")
    return root + "/" + slug


def archive(db: Session, slug: str, *, actor: str | None, now: bool, today: date,
            flow_run_id: str | None, scheduled: bool = False) -> Outcome:
    if scheduled:
        community = db.scalars(select(Community).where(Community.slug == slug).with_for_update()).one()
        who = SCHEDULE
        if community.stage != Stage.closing.value or not (
                community.notice_ends_on and today >= community.notice_ends_on):
            return Outcome(slug=slug, actor=who, notes=[f"{slug}: not due for archiving"])
    else:
        community, who = check_archive(db, slug, actor, now=now, today=today)
    outcome = Outcome(slug=slug, actor=who)
    outcome.queued += queue_final_report(db, community, today=today, flow_run_id=flow_run_id)
    if outcome.queued:
        audit.record(db, community, actor=who, action="report.final-queued", on_date=today,
                     after={"sponsors": len(outcome.queued)}, flow_run_id=flow_run_id)
    before = change_stage(db, community, Stage.archived, actor=who, today=today,
                          why="notice period ended" if not now else "archived on request",
                          flow_run_id=flow_run_id)
    crash_point("archive.stage-changed")
    community.archived_on = today
    term = current_term(db, community)
    if term is not None:  # the last planning lead's term ends with the CoP
        term.ended_on = today
        audit.record(db, community, actor=who, action="lead.term-ended", on_date=today,
                     why="the CoP is archived", before={"planning_lead": term.membership.person.name},
                     after={"planning_lead": None}, flow_run_id=flow_run_id)
    db.flush()
    uri = write_bundle(bundle_data(db, community, today=today), slug)
    community.archive_uri = uri
    audit.record(db, community, actor=who, action="archive.written", on_date=today,
                 after={"archive": uri}, flow_run_id=flow_run_id)
    outcome.stage_before, outcome.stage_after = before, Stage.archived.value
    outcome.detail["archive"] = uri
    outcome.notes.append(f"{slug} is archived at {uri}; final report queued for "
                         f"{len(outcome.queued)} sponsor(s)")
    return outcome
