"""Sponsor reports: build one report per ended period and queue it to every sponsor once.

Exactly once: the report of a period is a SponsorReport row (unique per CoP and
period), and each sponsor's copy is an outbox row keyed
`report:{slug}:{period_start}:{sponsor_email}` (final: `final-report:{slug}:{sponsor_email}`).
A repeated or resumed run finds both and queues nothing new. Every sponsor gets
the same stored figures, so a resumed run cannot send two versions of one report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
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
    OutboxMessage,
    RoleTerm,
    SponsorReport,
)
from models.health import ATTENDANCE_FALLEN_AWAY, ATTENDANCE_FALLING
from models.lifecycle import Stage
from models.reporting import (
    NextTask,
    Period,
    PlanningChange,
    ReportFigures,
    attendance_fall,
    due_periods,
    figures,
    next_due,
    next_session,
)
from models.sessions import SessionFacts
from models.stages import REPORTING_STAGES, was_withdrawn
from models.vocabulary import ReportPeriod
from tasks.crashpoints import crash_point
from tasks.email.outbox import Recipient, enqueue
from tasks.rendering import render, render_email
from tasks.storage.db import insert_if_absent
from tasks.storage.queries import current_term, membership_of, open_tasks, sponsors_of
from tasks.usecases.common import Outcome
from tasks.usecases.replies import replies_of
from tasks.usecases.stories import shareable_stories

ATTENDANCE_SIGNALS = frozenset({ATTENDANCE_FALLING, ATTENDANCE_FALLEN_AWAY})


def first_day(community: Community) -> date:
    return community.launched_on or community.created_on


def report_kind(community: Community) -> ReportPeriod:
    return ReportPeriod(community.sponsor_reports or "quarterly")


def period_key(slug: str, period_start: date, email: str) -> str:
    return f"report:{slug}:{period_start.isoformat()}:{email}"


def final_key(slug: str, email: str) -> str:
    return f"final-report:{slug}:{email}"


# --- gathering the plain inputs -------------------------------------------------------------

def _sessions(db: Session, community: Community) -> list[SessionFacts]:
    sessions = db.scalars(
        select(CopSession)
        .options(selectinload(CopSession.attendance).selectinload(Attendance.membership))
        .where(CopSession.community_id == community.id)
        .order_by(CopSession.held_on)
    )
    facts = []
    for s in sessions:
        people = [a.membership for a in s.attendance]
        facts.append(SessionFacts(
            held_on=s.held_on,
            attendee_kinds=tuple("convenor" if m.is_convenor else (m.kind or "practitioner") for m in people),
            attendee_ids=tuple(m.id for m in people),
            format=s.format, topics=tuple(s.topics or ()), methods=tuple(s.methods or ()),
            outputs=tuple(s.outputs or ()), guests=s.guests or 0,
        ))
    return facts


def _planning_changes(db: Session, community: Community) -> list[PlanningChange]:
    """Who took over planning, who volunteered, who joined or left.

    Only people credited are named: someone who has since stepped back from leading or moved on
    is not named to a sponsor (their turn as planning lead is still credited), and stepping back
    is not reported at all.
    """
    changes: list[PlanningChange] = []
    terms = db.scalars(
        select(RoleTerm).options(selectinload(RoleTerm.membership).selectinload(Membership.person))
        .where(RoleTerm.community_id == community.id)
    )
    for term in terms:
        changes.append(PlanningChange(on=term.started_on, event="took-lead", who=term.membership.person.name))
    members = db.scalars(
        select(Membership).options(selectinload(Membership.person))
        .where(Membership.community_id == community.id)
    )
    names: dict[str, str] = {}
    for m in members:
        named = m.left_on is None and not m.opted_out
        if m.person.email and named:
            names[m.person.email] = m.person.name
        if m.joined_on > community.created_on:
            changes.append(PlanningChange(on=m.joined_on, event="joined", who=m.person.name if named else None))
        if m.left_on is not None:
            changes.append(PlanningChange(on=m.left_on, event="left"))
    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.community_id == community.id,
                                 AuditEntry.action == "member.volunteered")
    )
    for entry in entries:
        who = names.get(str((entry.after or {}).get("member")))
        if who is not None:  # a volunteer who has since stepped back goes unmentioned
            changes.append(PlanningChange(on=entry.on_date, event="volunteered", who=who))
    return changes


def _leads(db: Session, community: Community, period: Period) -> tuple[str | None, list[str], str | None]:
    """(who led planning at the period's end, everyone who led up to then, who leads now)."""
    terms = list(db.scalars(
        select(RoleTerm).options(selectinload(RoleTerm.membership).selectinload(Membership.person))
        .where(RoleTerm.community_id == community.id, RoleTerm.started_on <= period.end)
        .order_by(RoleTerm.started_on, RoleTerm.id)))
    then = [t for t in terms if t.ended_on is None or t.ended_on > period.end]
    lead = then[-1].membership.person.name if then else None
    now = current_term(db, community)
    return (lead, list(dict.fromkeys(t.membership.person.name for t in terms)),
            now.membership.person.name if now is not None else None)


def _members_at(db: Session, community: Community, day: date) -> int:
    """Everyone in the CoP on that day, the convenor included."""
    return db.scalar(select(func.count()).select_from(Membership).where(
        Membership.community_id == community.id, Membership.joined_on <= day,
        (Membership.left_on.is_(None)) | (Membership.left_on > day))) or 0


def _next_up(db: Session, community: Community, today: date) -> list[NextTask]:
    return [NextTask(title=t.title, due=t.due, overdue=t.due is not None and t.due < today)
            for t in open_tasks(db, community)[:6]]


def _attendance_noticed(db: Session, community: Community, until: date) -> list[date]:
    """Days the health check flagged falling attendance, up to `until`."""
    records = db.execute(select(HealthRecord.on_date, HealthRecord.signals).where(
        HealthRecord.community_id == community.id, HealthRecord.on_date <= until))
    return [on for on, signals in records if ATTENDANCE_SIGNALS & set(signals or ())]


def _closed_by(db: Session, community: Community) -> tuple[str | None, bool]:
    """Who closed the CoP (and gave its reason), and whether they are its convenor."""
    changes = db.execute(select(AuditEntry.actor, AuditEntry.after).where(
        AuditEntry.community_id == community.id, AuditEntry.action == "stage.changed")
        .order_by(AuditEntry.id.desc()))
    actor = next((a for a, after in changes if (after or {}).get("stage") == Stage.closing.value), None)
    closer = membership_of(db, community, actor) if actor and "@" in actor else None
    return (closer.person.name, closer.is_convenor) if closer is not None else (None, False)


def build_figures(db: Session, community: Community, period: Period, *, today: date,
                  final: bool = False) -> ReportFigures:
    """The report of a period as it was: who led then, who belonged then; and what is next from
    the day it is written (open tasks, overdue ones marked; the next session)."""
    lead, leads, lead_now = _leads(db, community, period)
    sessions = _sessions(db, community)
    report = figures(
        period, sessions, members_now=_members_at(db, community, period.end),
        stories=shareable_stories(db, community, period),
        changes=_planning_changes(db, community), planning_lead=lead,
        next_up=[] if final else _next_up(db, community, today), final=final,
    )
    planned = community.first_session.date() if community.first_session else None
    held = [s.held_on for s in sessions if s.held_on <= today]
    coming, set_ = (None, False) if final else next_session(planned, max(held, default=None),
                                                            community.cadence, today)
    closed_by, by_convenor = _closed_by(db, community) if final else (None, False)
    return report.model_copy(update={
        "leads": leads, "lead_now": lead_now if lead_now != lead and not final else None,
        "written_on": today, "next_session": coming, "next_session_planned": set_,
        "attendance_fall": attendance_fall(report.trend, _attendance_noticed(db, community, period.end)),
        "closed_by": closed_by, "closed_by_convenor": by_convenor,
    })


# --- storing reports and queueing them --------------------------------------------------------

def _store_report(db: Session, community: Community, report: ReportFigures, *, today: date,
                  flow_run_id: str | None) -> SponsorReport:
    """Insert the report row unless one exists (a concurrent run may have won); return the stored one."""
    insert_if_absent(db, SponsorReport, {
        "community_id": community.id, "period_start": report.period_start,
        "period_end": report.period_end, "final": report.final,
        "figures": report.model_dump(mode="json"), "created_on": today, "flow_run_id": flow_run_id,
    }, unique=["community_id", "period_start", "final"])
    return db.scalars(select(SponsorReport).where(
        SponsorReport.community_id == community.id, SponsorReport.period_start == report.period_start,
        SponsorReport.final == report.final)).one()


def email_context(community: Community, figures_: ReportFigures, sponsor_name: str,
                  successor: Community | None = None) -> dict[str, Any]:
    return {
        "community": community,
        "sponsor_name": sponsor_name,
        "r": figures_,
        "cadence": community.cadence,
        "successor": successor,
    }


def _queue_to_sponsors(
    db: Session, community: Community, row: SponsorReport, *, template: str,
    key_for: Callable[[str], str], today: date,
) -> list[str]:
    """Queue the stored report to each sponsor who has not had it; return the new keys."""
    report = ReportFigures.model_validate(row.figures)
    sponsors = [s for s in sponsors_of(db, community)
                if s.person.email and s.added_on <= row.period_end]
    keys = {s.person.email: key_for(s.person.email) for s in sponsors if s.person.email}
    queued = set(db.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(list(keys.values())))))
    successor = db.get(Community, community.successor_id) if community.successor_id else None
    convenor = replies_of(db, community).convenor  # a sponsor's reply reaches the convenor
    new: list[str] = []
    for sponsor in sponsors:
        email, key = sponsor.person.email, keys.get(sponsor.person.email or "")
        if email is None or key is None or key in queued:
            continue
        rendered = render_email(template, **email_context(community, report, sponsor.person.name, successor))
        if enqueue(db, key=key, community=community, template=template,
                   to=Recipient(sponsor.person.name, email), email=rendered, today=today,
                   reply_to=convenor):
            new.append(key)
            crash_point("report.queued")
    return new


def queue_due_reports(db: Session, community: Community, *, today: date, flow_run_id: str | None) -> list[str]:
    """Build each ended, unreported period's report and queue it to every sponsor once."""
    if Stage(community.stage) not in REPORTING_STAGES:
        return []
    if db.scalar(select(SponsorReport.id).where(SponsorReport.community_id == community.id,
                                                SponsorReport.final.is_(True))) is not None:
        return []  # the final report has gone: it covered everything up to the close
    stored = {r.period_start: r for r in db.scalars(select(SponsorReport).where(
        SponsorReport.community_id == community.id, SponsorReport.final.is_(False)))}
    for period in due_periods(first_day(community), report_kind(community), today, set(stored)):
        stored[period.start] = _store_report(db, community, build_figures(db, community, period, today=today),
                                             today=today, flow_run_id=flow_run_id)
        crash_point("report.stored")
    keys: list[str] = []
    for start, row in sorted(stored.items()):
        keys += _queue_to_sponsors(db, community, row, template="sponsor-report",
                                   key_for=partial(period_key, community.slug, start), today=today)
    return keys


def queue_final_report(db: Session, community: Community, *, today: date, flow_run_id: str | None) -> list[str]:
    """The last report, of the CoP's whole life from its launch to today, to every sponsor once."""
    row = db.scalars(select(SponsorReport).where(SponsorReport.community_id == community.id,
                                                 SponsorReport.final.is_(True))).one_or_none()
    if row is None:
        period = Period(min(first_day(community), today), today)
        row = _store_report(db, community, build_figures(db, community, period, today=today, final=True),
                            today=today, flow_run_id=flow_run_id)
        crash_point("report.stored")
    return _queue_to_sponsors(db, community, row, template="final-sponsor-report",
                              key_for=lambda email: final_key(community.slug, email), today=today)


def reports_built_by(db: Session, community: Community, flow_run_id: str | None) -> list[SponsorReport]:
    return list(db.scalars(select(SponsorReport).where(
        SponsorReport.community_id == community.id, SponsorReport.flow_run_id == flow_run_id)
        .order_by(SponsorReport.period_start)))


def next_report(community: Community, today: date) -> tuple[Period, date]:
    return next_due(first_day(community), report_kind(community), today)


def report_markdown(community: Community, row: SponsorReport) -> str:
    """The operations copy of a report (a Prefect artifact): figures only, no addresses."""
    report = ReportFigures.model_validate(row.figures)
    return render("reports/sponsor-report.md", community=community, r=report)


def report_description(slug: str, period_start: date) -> str:
    return render("reports/sponsor-report.description.txt", slug=slug, period_start=period_start).strip()


@dataclass(frozen=True)
class ReportLine:
    """One report built by a run, as a line of its page's table: headline figures, no names or addresses."""

    slug: str
    period_label: str
    final: bool
    queued: int
    sessions: int
    attendances: int
    people: int
    average_attendance: float | None
    members_now: int
    stories: int


def report_line(slug: str, row: SponsorReport, keys: list[str]) -> ReportLine:
    f = row.figures
    prefix = final_key(slug, "") if row.final else period_key(slug, row.period_start, "")
    return ReportLine(
        slug=slug, period_label=f["period_label"], final=row.final,
        queued=sum(1 for k in keys if k.startswith(prefix)),
        sessions=f["sessions"], attendances=f["attendances"], people=f["people"],
        average_attendance=f.get("average_attendance"), members_now=f["members_now"],
        stories=len(f.get("stories") or ()),
    )


def page_markdown(slugs: list[str], lines: list[ReportLine]) -> tuple[str, str]:
    """The operations copy of a page of CoPs' reports (one Prefect artifact): (markdown, description)."""
    context = {"first": slugs[0] if slugs else "", "last": slugs[-1] if slugs else "",
               "communities": len(slugs), "lines": lines}
    return (render("reports/sponsor-report-page.md", **context),
            render("reports/sponsor-report-page.description.txt", **context).strip())


def queue_each(slugs: list[str], *, today: date, flow_run_id: str | None, full_copies: bool = False
               ) -> Iterator[tuple[Outcome, list[ReportLine], list[tuple[date, str]]]]:
    """For each CoP, in its own transaction: queue what is due; yield what was done, a line for
    each report this run built, and (full_copies) each such report's own operations copy."""
    from tasks.storage.db import session_scope
    from tasks.storage.queries import get_community

    for slug in slugs:
        with session_scope() as db:
            community = get_community(db, slug)
            keys = queue_due_reports(db, community, today=today, flow_run_id=flow_run_id)
            built = reports_built_by(db, community, flow_run_id) if flow_run_id else []
            result = Outcome(slug=slug, stage_before=community.stage, stage_after=community.stage,
                             queued=keys, periods=[f"{r.figures['period_label']}" for r in built])
            if Stage(community.stage) in REPORTING_STAGES:
                period, due_on = next_report(community, today)
                result.next_period, result.next_due_on = period.label, due_on
            elif was_withdrawn(Stage(community.stage), community.closing_since):
                result.notes.append(f"{slug}: withdrawn before it met; no reports are sent")
            lines = [report_line(slug, r, keys) for r in built]
            copies = [(r.period_start, report_markdown(community, r)) for r in built] if full_copies else []
        yield result, lines, copies
