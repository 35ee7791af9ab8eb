"""Health (sustain): gather a CoP's inputs, apply models.health, record, nudge, propose.

Keys (so a daily run never repeats itself):
- the health record: one per CoP per day (a rerun the same day replaces it);
- the convenor nudge: once per CoP per ISO week per set of signals;
- the close proposal: once per set of natural-end signals, until that set changes
  (it may then be proposed again when the signals return). People decide; nothing closes here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from models.db.tables import (
    Attendance,
    AuditEntry,
    Community,
    CopSession,
    HealthRecord,
    Membership,
    Person,
    PlanningTask,
    RoleTerm,
)
from models.errors import BadInput
from models.health import NATURAL_END, HealthInputs, assess
from models.lifecycle import Stage
from models.rota import eligible, rotation_due
from models.sessions import SessionFacts
from models.stages import HEALTH_STAGES, require_health_check, values
from models.vocabulary import Cadence
from tasks.storage import audit
from tasks.storage.queries import get_community, rota_candidates
from tasks.usecases.common import SCHEDULE, Outcome, queue_email
from tasks.usecases.replies import Replies, replies_for


def active_slugs(db: Session) -> list[str]:
    return list(db.scalars(select(Community.slug).where(Community.stage.in_(values(HEALTH_STAGES)))
                           .order_by(Community.slug)))


def check_health(db: Session, slug: str) -> Community:
    community = get_community(db, slug)
    require_health_check(Stage(community.stage), slug)
    return community


def gather_page(db: Session, communities: Sequence[Community], today: date) -> dict[int, HealthInputs]:
    """Each CoP's health inputs, read for a whole page of CoPs in a fixed number of queries."""
    ids = [c.id for c in communities]
    by_cop: dict[int, list[Any]] = defaultdict(list)
    for m in db.execute(
        select(Membership.id, Membership.community_id, Membership.person_id, Membership.is_convenor,
               Membership.kind, Membership.planning_group, Membership.volunteered,
               Membership.opted_out, Membership.joined_on, Membership.left_on,
               Membership.convened_until, Person.name)
        .join(Person, Membership.person_id == Person.id)
        .where(Membership.community_id.in_(ids)).order_by(Membership.id)
    ):
        by_cop[m.community_id].append(m)
    sessions: dict[int, list[tuple[int, date, int]]] = defaultdict(list)
    for cid, sid, held_on, guests in db.execute(
        select(CopSession.community_id, CopSession.id, CopSession.held_on, CopSession.guests)
        .where(CopSession.community_id.in_(ids), CopSession.held_on <= today)
        .order_by(CopSession.held_on, CopSession.id)
    ):
        sessions[cid].append((sid, held_on, guests or 0))
    kinds: dict[int, list[str]] = defaultdict(list)
    people: dict[int, list[int]] = defaultdict(list)
    for sid, mid, is_convenor, kind in db.execute(
        select(Attendance.session_id, Membership.id, Membership.is_convenor, Membership.kind)
        .join(Membership, Attendance.membership_id == Membership.id)
        .join(CopSession, Attendance.session_id == CopSession.id)
        .where(CopSession.community_id.in_(ids), CopSession.held_on <= today)
    ):
        kinds[sid].append("convenor" if is_convenor else kind or "member")
        people[sid].append(mid)
    held: dict[int, int] = dict(db.execute(
        select(CopSession.community_id, func.count()).where(CopSession.community_id.in_(ids))
        .group_by(CopSession.community_id)).all())
    work: dict[int, Counter[str]] = defaultdict(Counter)
    for cid, name in db.execute(
        select(PlanningTask.community_id, Person.name)
        .join(Membership, PlanningTask.owner_id == Membership.id)
        .join(Person, Membership.person_id == Person.id)
        .where(PlanningTask.community_id.in_(ids), PlanningTask.status == "done")
    ):
        work[cid][name] += 1
    current: dict[int, tuple[int, int]] = {}
    for cid, mid, at_start in db.execute(
        select(RoleTerm.community_id, RoleTerm.membership_id, RoleTerm.sessions_at_start)
        .where(RoleTerm.community_id.in_(ids), RoleTerm.ended_on.is_(None))
        .order_by(RoleTerm.started_on, RoleTerm.id)  # should two be open, the last begun is the lead's
    ):
        current[cid] = (mid, at_start)
    rota = rota_candidates(db, ids)
    continued = continued_on(db, ids)

    inputs: dict[int, HealthInputs] = {}
    for community in communities:
        everyone = by_cop[community.id]
        members = [m for m in everyone if m.left_on is None]
        candidates = rota[community.id]
        term = current.get(community.id)
        lead_id = term[0] if term else None
        rotation = term is None or rotation_due(held.get(community.id, 0), term[1],
                                                community.rotate_every_sessions)
        pg_ever = [m for m in everyone if m.planning_group and not m.is_convenor]
        inputs[community.id] = HealthInputs(
            today=today,
            cadence=Cadence(community.cadence) if community.cadence else None,
            launched_on=community.launched_on,
            # Guests count as attendance, as in the sponsor reports and the portfolio.
            sessions=[SessionFacts(held_on=held_on, attendee_kinds=tuple(kinds[sid]),
                                   attendee_ids=tuple(people[sid]), guests=guests)
                      for sid, held_on, guests in sessions[community.id]],
            members_now=len(members),
            planning_work=dict(work[community.id]),
            volunteers=sum(1 for c in candidates if c.volunteered and not c.opted_out),
            eligible_next=sum(1 for c in eligible(candidates) if c.membership_id != lead_id),
            rotation_due=rotation,
            # A convenor who handed the role on and then left counts as the convenor leaving.
            convenor_left=all(m.left_on is not None for m in everyone if m.is_convenor)
            or any(m.left_on is not None for m in everyone if m.convened_until is not None),
            planning_group_total=len(pg_ever),
            planning_group_left=sum(1 for m in pg_ever if m.left_on is not None),
            work_done=community.work_done,
            stage=Stage(community.stage),
            first_session=community.first_session.date() if community.first_session else None,
            continued_on=continued.get(community.id),
        )
    return inputs


def continued_on(db: Session, ids: Sequence[int]) -> dict[int, date]:
    """The day each CoP's members last decided to continue (a stage change out of closing)."""
    last: dict[int, date] = {}
    for cid, on_date, before in db.execute(
        select(AuditEntry.community_id, AuditEntry.on_date, AuditEntry.before)
        .where(AuditEntry.community_id.in_(ids), AuditEntry.action == "stage.changed")
        .order_by(AuditEntry.id)
    ):
        if (before or {}).get("stage") == Stage.closing.value:
            last[cid] = on_date
    return last


def _natural_end_since(db: Session, community: Community, signals: list[str], today: date,
                       continued: date | None = None) -> date:
    """The first day of the unbroken run of records showing exactly these natural-end signals
    (since the members last decided to continue: a proposal made before that was answered)."""
    since = today
    records = db.scalars(select(HealthRecord).where(HealthRecord.community_id == community.id,
                                                    HealthRecord.on_date < today,
                                                    HealthRecord.on_date > (continued or date.min))
                         .order_by(HealthRecord.on_date.desc()))
    for record in records:
        if sorted(s for s in record.signals if s in NATURAL_END) != signals:
            break
        since = record.on_date
    return since


@dataclass
class Page:
    """What a page of CoPs' checks read together, so each check adds no queries of its own."""

    communities: dict[str, Community]
    inputs: dict[int, HealthInputs]
    groups: dict[int, list[Membership]]  # the convenor and planning group, current members
    records: dict[int, HealthRecord]  # today's records already stored (a rerun replaces them)
    replies: dict[int, Replies]  # who a reply to each CoP's emails reaches


def read_page(db: Session, slugs: Sequence[str], today: date) -> Page:
    communities = {c.slug: c for c in db.scalars(select(Community).where(Community.slug.in_(list(slugs))))}
    active = [c for c in communities.values() if Stage(c.stage) in HEALTH_STAGES]
    ids = [c.id for c in active]
    groups: dict[int, list[Membership]] = defaultdict(list)
    for m in db.scalars(
        select(Membership).options(selectinload(Membership.person))
        .where(Membership.community_id.in_(ids), Membership.left_on.is_(None),
               Membership.is_convenor | Membership.planning_group)
        .order_by(Membership.id)
    ):
        groups[m.community_id].append(m)
    records = {r.community_id: r for r in db.scalars(
        select(HealthRecord).where(HealthRecord.community_id.in_(ids), HealthRecord.on_date == today))}
    return Page(communities, gather_page(db, active, today), groups, records, replies_for(db, ids))


def check_page(db: Session, slugs: Sequence[str], *, today: date, flow_run_id: str | None,
               figures: bool = True) -> list[Outcome]:
    """Check a page of CoPs in one transaction, reading what they need together.

    figures=False leaves each CoP's figures out of its outcome (they are in its stored health
    record): a run over every CoP then holds a few signals per CoP, not all their figures.
    """
    page = read_page(db, slugs, today)
    outcomes = [check_community(db, slug, today=today, flow_run_id=flow_run_id, page=page)
                for slug in slugs]
    if not figures:
        for outcome in outcomes:
            outcome.figures = None
    return outcomes


def check_community(db: Session, slug: str, *, today: date, flow_run_id: str | None,
                    page: Page | None = None) -> Outcome:
    if page is None:
        page = read_page(db, [slug], today)
    community = page.communities.get(slug)
    if community is None:
        raise BadInput(f"no CoP with slug '{slug}'")
    require_health_check(Stage(community.stage), slug)
    health = assess(page.inputs[community.id])
    outcome = Outcome(slug=slug, attention=list(health.attention),
                      natural_end=list(health.natural_end), figures=health.figures)
    natural = sorted(health.natural_end)
    inputs = page.inputs[community.id]

    record = page.records.get(community.id)
    if record is None:
        record = HealthRecord(community_id=community.id, on_date=today)
        db.add(record)
    record.figures, record.signals, record.flow_run_id = health.figures, health.signals, flow_run_id

    group = page.groups[community.id]  # as planning_group(db, community) gives them
    convenor = next((m for m in group if m.is_convenor), None)
    nudge_to = convenor or (group[0] if group else None)
    if health.attention and nudge_to is not None:
        year, week, _ = today.isocalendar()
        signals = "+".join(sorted(health.attention))
        queue_email(db, outcome, key=f"nudge:{slug}:{year}-W{week:02d}:{signals}:{nudge_to.person.email}",
                    community=community, template="convenor-nudge", name=nudge_to.person.name,
                    email=nudge_to.person.email, today=today, signals=health.attention,
                    figures=health.figures, replies=page.replies[community.id])
    if natural and health.quiet_until is not None:
        outcome.notes.append(f"{slug}: no close proposal before {health.quiet_until:%-d %B %Y}: "
                             "the members decided to continue")
    elif natural:
        since = _natural_end_since(db, community, natural, today, inputs.continued_on)
        _propose_close(db, outcome, community, group, natural, since, health.figures,
                       today=today, flow_run_id=flow_run_id, replies=page.replies[community.id])
    outcome.notes.append(f"{slug}: " + (", ".join(health.signals) if health.signals else "all well"))
    return outcome


def _propose_close(db: Session, outcome: Outcome, community: Community, group: list[Membership],
                   natural: list[str], since: date, figures: dict[str, Any], *, today: date,
                   flow_run_id: str | None, replies: Replies | None = None) -> None:
    """A close proposal to the convenor and planning group, once per run of these signals."""
    slug = community.slug
    before = len(outcome.queued)
    for m in group:
        queue_email(db, outcome, key=f"close-proposal:{slug}:{'+'.join(natural)}:{since}:{m.person.email}",
                    community=community, template="close-proposal", name=m.person.name,
                    email=m.person.email, today=today, signals=natural, figures=figures, replies=replies)
    if len(outcome.queued) > before:
        audit.record(db, community, actor=SCHEDULE, action="health.close-proposed", on_date=today,
                     why="natural-end signals: " + ", ".join(natural),
                     after={"signals": natural}, flow_run_id=flow_run_id)
        outcome.close_proposed = True
        outcome.notes.append(f"{slug}: a close proposal went to the convenor and planning group")
