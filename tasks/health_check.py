"""Health (sustain): gather a CoP's inputs, apply models.health, record, nudge, propose.

Keys (so a daily run never repeats itself):
- the health record: one per CoP per day (a rerun the same day replaces it);
- the convenor nudge: once per CoP per ISO week per set of signals;
- the close proposal: once per set of natural-end signals, until that set changes
  (it may then be proposed again when the signals return). People decide; nothing closes here.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models.errors import Refused
from models.health import NATURAL_END, HealthInputs, SessionSeen, assess
from models.lifecycle import Stage
from models.rota import eligible
from models.tables import Attendance, Community, CopSession, HealthRecord, Membership, PlanningTask
from tasks.community_store import current_members, current_term, get_community, rota_candidates
from tasks import audit
from tasks.rotation import is_due, planning_group
from tasks.stage_change import SCHEDULE, Outcome, queue_email


def active_slugs(db: Session) -> list[str]:
    return list(db.scalars(select(Community.slug).where(Community.stage == Stage.active.value)
                           .order_by(Community.slug)))


def check_health(db: Session, slug: str) -> Community:
    community = get_community(db, slug)
    if community.stage != Stage.active.value:
        raise Refused(f"{slug} is {community.stage}; health checks cover active CoPs")
    return community


def gather(db: Session, community: Community, today: date) -> HealthInputs:
    members = current_members(db, community)
    everyone = list(db.scalars(select(Membership).options(selectinload(Membership.person))
                               .where(Membership.community_id == community.id)))
    sessions = list(db.scalars(
        select(CopSession).options(selectinload(CopSession.attendance)
                                   .selectinload(Attendance.membership))
        .where(CopSession.community_id == community.id, CopSession.held_on <= today)
        .order_by(CopSession.held_on)))
    done = db.scalars(select(PlanningTask).options(selectinload(PlanningTask.owner)
                                                   .selectinload(Membership.person))
                      .where(PlanningTask.community_id == community.id,
                             PlanningTask.status == "done"))
    work = Counter(t.owner.person.name for t in done)
    term = current_term(db, community)
    lead_id = term.membership_id if term else None
    candidates = rota_candidates(db, community)
    pg_ever = [m for m in everyone if m.planning_group and not m.is_convenor]
    return HealthInputs(
        today=today,
        cadence=community.cadence,
        launched_on=community.launched_on,
        sessions=[SessionSeen(
            held_on=s.held_on, attended=len(s.attendance), members_then=len(members),
            kinds=[("convenor" if a.membership.is_convenor else a.membership.kind or "member")
                   for a in s.attendance]) for s in sessions],
        planning_work=dict(work),
        volunteers=sum(1 for c in candidates if c.volunteered and not c.opted_out),
        eligible_next=sum(1 for c in eligible(candidates) if c.membership_id != lead_id),
        rotation_due=is_due(db, community),
        convenor_left=all(m.left_on is not None for m in everyone if m.is_convenor),
        planning_group_total=len(pg_ever),
        planning_group_left=sum(1 for m in pg_ever if m.left_on is not None),
        work_done=community.work_done,
    )


def _natural_end_since(db: Session, community: Community, signals: list[str], today: date) -> date:
    """The first day of the unbroken run of records showing exactly these natural-end signals."""
    since = today
    records = db.scalars(select(HealthRecord).where(HealthRecord.community_id == community.id,
                                                    HealthRecord.on_date < today)
                         .order_by(HealthRecord.on_date.desc()))
    for record in records:
        if sorted(s for s in record.signals if s in NATURAL_END) != signals:
            break
        since = record.on_date
    return since


def check_community(db: Session, slug: str, *, today: date, flow_run_id: str | None) -> Outcome:
    community = check_health(db, slug)
    health = assess(gather(db, community, today))
    outcome = Outcome(slug=slug, actor=SCHEDULE, detail=health.as_dict())
    natural = sorted(health.natural_end)
    since = _natural_end_since(db, community, natural, today) if natural else today

    record = db.scalars(select(HealthRecord).where(HealthRecord.community_id == community.id,
                                                   HealthRecord.on_date == today)).one_or_none()
    if record is None:
        record = HealthRecord(community_id=community.id, on_date=today)
        db.add(record)
    record.figures, record.signals, record.flow_run_id = health.figures, health.signals, flow_run_id

    convenor = next((m for m in current_members(db, community) if m.is_convenor), None)
    group = planning_group(db, community)
    nudge_to = convenor or (group[0] if group else None)
    if health.attention and nudge_to is not None:
        year, week, _ = today.isocalendar()
        signals = "+".join(sorted(health.attention))
        queue_email(db, outcome, key=f"nudge:{slug}:{year}-W{week:02d}:{signals}:{nudge_to.person.email}",
                    community=community, template="convenor-nudge", name=nudge_to.person.name,
                    email=nudge_to.person.email, today=today, signals=health.attention,
                    figures=health.figures)
    if natural:
        before = len(outcome.queued)
        for m in group:
            queue_email(db, outcome, key=f"close-proposal:{slug}:{'+'.join(natural)}:{since}:{m.person.email}",
                        community=community, template="close-proposal", name=m.person.name,
                        email=m.person.email, today=today, signals=natural, figures=health.figures)
        if len(outcome.queued) > before:
            audit.record(db, community, actor=SCHEDULE, action="health.close-proposed", on_date=today,
                         why="natural-end signals: " + ", ".join(natural),
                         after={"signals": natural}, flow_run_id=flow_run_id)
            outcome.detail["close_proposed"] = True
            outcome.notes.append(f"{slug}: natural-end signals ({', '.join(natural)}); "
                                 "a close proposal went to the convenor and planning group")
    outcome.notes.append(f"{slug}: " + (", ".join(health.signals) if health.signals else "all well"))
    return outcome
