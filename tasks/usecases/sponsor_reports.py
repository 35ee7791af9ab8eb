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
from datetime import date, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models.db.tables import (
    Attendance,
    AuditEntry,
    Community,
    CopSession,
    Membership,
    OutboxMessage,
    RoleTerm,
    SponsorReport,
)
from models.lifecycle import Stage
from models.reporting import (
    NextTask,
    Period,
    PlanningChange,
    PlanningEvent,
    ReportFigures,
    due_periods,
    figures,
    next_due,
)
from models.sessions import SessionFacts
from models.stages import REPORTING_STAGES
from models.vocabulary import ReportPeriod
from tasks.crashpoints import crash_point
from tasks.email.outbox import Recipient, enqueue
from tasks.rendering import render, render_email
from tasks.storage.db import insert_if_absent
from tasks.storage.queries import current_members, open_tasks, sponsors_of
from tasks.usecases.common import Outcome
from tasks.usecases.stories import shareable_stories


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
    """Who took over planning, who volunteered or stepped back, who joined or left.

    Only people credited are named: someone stepping back or moving on is not named to a sponsor.
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
        if m.person.email:
            names[m.person.email] = m.person.name
        if m.joined_on > community.created_on:
            changes.append(PlanningChange(on=m.joined_on, event="joined", who=m.person.name))
        if m.left_on is not None:
            changes.append(PlanningChange(on=m.left_on, event="left"))
    events: dict[str, PlanningEvent] = {"member.volunteered": "volunteered", "member.opted-out": "opted-out"}
    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.community_id == community.id,
                                 AuditEntry.action.in_(tuple(events)))
    )
    for entry in entries:
        event = events[entry.action]
        who = names.get(str((entry.after or {}).get("member"))) if event == "volunteered" else None
        changes.append(PlanningChange(on=entry.on_date, event=event, who=who))
    return changes


def _next_up(db: Session, community: Community) -> tuple[str | None, list[NextTask]]:
    from tasks.storage.queries import current_term

    term = current_term(db, community)
    lead = term.membership.person.name if term is not None else None
    tasks = [NextTask(title=t.title, due=t.due) for t in open_tasks(db, community)[:6]]
    return lead, tasks


def build_figures(db: Session, community: Community, period: Period, *, final: bool = False) -> ReportFigures:
    lead, next_up = _next_up(db, community)
    members = current_members(db, community)
    return figures(
        period, _sessions(db, community), members_now=len(members),
        stories=shareable_stories(db, community, period),
        changes=_planning_changes(db, community), planning_lead=lead, next_up=next_up, final=final,
    )


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
    new: list[str] = []
    for sponsor in sponsors:
        email, key = sponsor.person.email, keys.get(sponsor.person.email or "")
        if email is None or key is None or key in queued:
            continue
        rendered = render_email(template, **email_context(community, report, sponsor.person.name, successor))
        if enqueue(db, key=key, community=community, template=template,
                   to=Recipient(sponsor.person.name, email), email=rendered, today=today):
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
        stored[period.start] = _store_report(db, community, build_figures(db, community, period),
                                             today=today, flow_run_id=flow_run_id)
        crash_point("report.stored")
    keys: list[str] = []
    for start, row in sorted(stored.items()):
        keys += _queue_to_sponsors(db, community, row, template="sponsor-report",
                                   key_for=partial(period_key, community.slug, start), today=today)
    return keys


def queue_final_report(db: Session, community: Community, *, today: date, flow_run_id: str | None) -> list[str]:
    """The last report, from the end of the last reported period to today, to every sponsor once."""
    row = db.scalars(select(SponsorReport).where(SponsorReport.community_id == community.id,
                                                 SponsorReport.final.is_(True))).one_or_none()
    if row is None:
        last_end = db.scalar(select(SponsorReport.period_end).where(
            SponsorReport.community_id == community.id, SponsorReport.final.is_(False))
            .order_by(SponsorReport.period_end.desc()).limit(1))
        start = last_end + timedelta(days=1) if last_end else first_day(community)
        period = Period(min(start, today), today)
        row = _store_report(db, community, build_figures(db, community, period, final=True),
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
            lines = [report_line(slug, r, keys) for r in built]
            copies = [(r.period_start, report_markdown(community, r)) for r in built] if full_copies else []
        yield result, lines, copies
