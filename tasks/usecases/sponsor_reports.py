"""Sponsor reports: build one report per ended period and queue it to every sponsor once.

Exactly once: the report of a period is a SponsorReport row (unique per CoP and
period), and each sponsor's copy is an outbox row keyed
`report:{slug}:{period_start}:{sponsor_email}` (final: `final-report:{slug}:{sponsor_email}`).
A repeated or resumed run finds both and queues nothing new. Every sponsor gets
the same stored figures, so a resumed run cannot send two versions of one report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db.tables import AuditEntry, Community, SponsorReport
from models.health import ATTENDANCE_FALLEN_AWAY, ATTENDANCE_FALLING
from models.lifecycle import Stage
from models.reporting import (
    NextTask,
    Period,
    PlanningChange,
    ReportFigures,
    Story,
    attendance_fall,
    due_periods,
    figures,
    next_due,
    next_session,
    shared_stories,
)
from models.rota import lead_term
from models.stages import REPORTING_STAGES, was_withdrawn
from models.vocabulary import ReportPeriod
from tasks.crashpoints import crash_point
from tasks.email.outbox import Recipient, enqueue
from tasks.rendering import render, render_email
from tasks.storage.db import insert_if_absent
from tasks.storage.queries import membership_of
from tasks.usecases.common import Outcome
from tasks.usecases.report_inputs import ReportInputs, SponsorRow, queued_keys, read_inputs
from tasks.usecases.stories import name_withheld

ATTENDANCE_SIGNALS = frozenset({ATTENDANCE_FALLING, ATTENDANCE_FALLEN_AWAY})


def first_day(community: Community) -> date:
    return community.launched_on or community.created_on


def report_kind(community: Community) -> ReportPeriod:
    return ReportPeriod(community.sponsor_reports or "quarterly")


def period_key(slug: str, period_start: date, email: str) -> str:
    return f"report:{slug}:{period_start.isoformat()}:{email}"


def final_key(slug: str, email: str) -> str:
    return f"final-report:{slug}:{email}"


# --- figures from the plain inputs (read for a page of CoPs: tasks/usecases/report_inputs.py) ---

def _planning_changes(community: Community, inputs: ReportInputs) -> list[PlanningChange]:
    """Who took over planning, who volunteered, who joined or left.

    Only people credited are named: someone who has since stepped back from leading or moved on
    is not named to a sponsor (their turn as planning lead is still credited), and stepping back
    is not reported at all.
    """
    changes = [PlanningChange(on=t.started_on, event="took-lead", who=t.name)
               for t in sorted(inputs.terms, key=lambda t: t.id)]
    names: dict[str, str] = {}
    for m in inputs.members:
        named = m.left_on is None and not m.opted_out
        if m.email and named:
            names[m.email] = m.name
        if m.joined_on > community.created_on:
            changes.append(PlanningChange(on=m.joined_on, event="joined", who=m.name if named else None))
        if m.left_on is not None:
            changes.append(PlanningChange(on=m.left_on, event="left"))
    for on_date, after in inputs.volunteered:
        who = names.get(str((after or {}).get("member")))
        if who is not None:  # a volunteer who has since stepped back goes unmentioned
            changes.append(PlanningChange(on=on_date, event="volunteered", who=who))
    return changes


def _leads(inputs: ReportInputs, period: Period) -> tuple[str | None, list[str], str | None]:
    """(who led planning at the period's end, everyone who led up to then, who leads now)."""
    terms = [t for t in inputs.terms if t.started_on <= period.end]
    then = [t for t in terms if t.ended_on is None or t.ended_on > period.end]
    lead = then[-1].name if then else None
    now = lead_term(t for t in inputs.terms if t.ended_on is None)
    return lead, list(dict.fromkeys(t.name for t in terms)), now.name if now else None


def _members_at(inputs: ReportInputs, day: date) -> int:
    """Everyone in the CoP on that day, the convenor included."""
    return sum(1 for m in inputs.members if m.joined_on <= day and (m.left_on is None or m.left_on > day))


def _next_up(inputs: ReportInputs, today: date) -> list[NextTask]:
    return [NextTask(title=t.title, due=t.due, overdue=t.due is not None and t.due < today)
            for t in inputs.tasks]


def _attendance_noticed(inputs: ReportInputs, until: date) -> list[date]:
    """Days the health check flagged falling attendance, up to `until`."""
    return [on for on, signals in inputs.health if on <= until and ATTENDANCE_SIGNALS & set(signals)]


def _stories(inputs: ReportInputs, period: Period) -> list[Story]:
    """The stories that surfaced in the period, in the words that may leave the CoP (anonymity
    takes out every name of the CoP's people, past and present, sponsors too)."""
    names = [m.name for m in inputs.members] + [s.name for s in inputs.sponsors]
    return shared_stories(period, inputs.stories, names, name_withheld())


def _closed_by(db: Session, community: Community) -> tuple[str | None, bool]:
    """Who closed the CoP (and gave its reason), and whether they are its convenor."""
    changes = db.execute(select(AuditEntry.actor, AuditEntry.after).where(
        AuditEntry.community_id == community.id, AuditEntry.action == "stage.changed")
        .order_by(AuditEntry.id.desc()))
    actor = next((a for a, after in changes if (after or {}).get("stage") == Stage.closing.value), None)
    closer = membership_of(db, community, actor) if actor and "@" in actor else None
    return (closer.person.name, closer.is_convenor) if closer is not None else (None, False)


def build_figures(db: Session, community: Community, period: Period, *, today: date,
                  final: bool = False, inputs: ReportInputs | None = None) -> ReportFigures:
    """The report of a period as it was: who led then, who belonged then; and what is next from
    the day it is written (open tasks, overdue ones marked; the next session).
    inputs: this CoP's, when read with its page's (otherwise read here)."""
    if inputs is None:
        inputs = read_inputs(db, [community.id])[community.id]
    lead, leads, lead_now = _leads(inputs, period)
    sessions = inputs.sessions
    report = figures(
        period, sessions, members_now=_members_at(inputs, period.end),
        stories=_stories(inputs, period), changes=_planning_changes(community, inputs),
        planning_lead=lead, next_up=[] if final else _next_up(inputs, today), final=final,
    )
    planned = community.first_session.date() if community.first_session else None
    held = [s.held_on for s in sessions if s.held_on <= today]
    coming, set_ = (None, False) if final else next_session(planned, max(held, default=None),
                                                            community.cadence, today)
    closed_by, by_convenor = _closed_by(db, community) if final else (None, False)
    return report.model_copy(update={
        "leads": leads, "lead_now": lead_now if lead_now != lead and not final else None,
        "written_on": today, "next_session": coming, "next_session_planned": set_,
        "attendance_fall": attendance_fall(report.trend, _attendance_noticed(inputs, period.end)),
        "closed_by": closed_by, "closed_by_convenor": by_convenor,
    })


# --- storing reports and queueing them --------------------------------------------------------

def _store_report(db: Session, community: Community, report: ReportFigures, *, today: date,
                  flow_run_id: str | None) -> SponsorReport:
    """Insert the report row unless one exists (a concurrent run may have won); return the stored
    one (the row as inserted, not read back: it is not added to the session)."""
    values = {
        "community_id": community.id, "period_start": report.period_start,
        "period_end": report.period_end, "final": report.final,
        "figures": report.model_dump(mode="json"), "created_on": today, "flow_run_id": flow_run_id,
    }
    if insert_if_absent(db, SponsorReport, values, unique=["community_id", "period_start", "final"]):
        return SponsorReport(**values)
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


def _sponsors_for(inputs: ReportInputs, row: SponsorReport) -> list[SponsorRow]:
    """The sponsors a stored report goes to: those with an address, sponsoring by its period's end."""
    return [s for s in inputs.sponsors if s.email and s.added_on <= row.period_end]


def _convenor(inputs: ReportInputs) -> Recipient | None:
    """Who a sponsor's reply reaches: the CoP's current convenor (as replies_of finds them)."""
    convenor = next((m for m in inputs.members if m.is_convenor and m.left_on is None), None)
    return Recipient(convenor.name, convenor.email) if convenor is not None and convenor.email else None


def _queue_to_sponsors(
    db: Session, community: Community, row: SponsorReport, *, template: str,
    key_for: Callable[[str], str], today: date, inputs: ReportInputs, queued: set[str] | None = None,
) -> list[str]:
    """Queue the stored report to each sponsor who has not had it; return the new keys.
    queued: the keys already in the outbox, when read for the page (otherwise read here)."""
    report = ReportFigures.model_validate(row.figures)
    sponsors = _sponsors_for(inputs, row)
    keys = {s.email: key_for(s.email) for s in sponsors if s.email}
    if queued is None:
        queued = queued_keys(db, list(keys.values()))
    successor = db.get(Community, community.successor_id) if community.successor_id else None
    convenor = _convenor(inputs)  # a sponsor's reply reaches the convenor
    new: list[str] = []
    for sponsor in sponsors:
        email, key = sponsor.email, keys.get(sponsor.email or "")
        if email is None or key is None or key in queued:
            continue
        rendered = render_email(template, **email_context(community, report, sponsor.name, successor))
        if enqueue(db, key=key, community=community, template=template,
                   to=Recipient(sponsor.name, email), email=rendered, today=today,
                   reply_to=convenor):
            new.append(key)
            crash_point("report.queued")
    return new


@dataclass
class Known:
    """What a page of CoPs' reports read together: each CoP's inputs and stored reports, and the
    outbox keys already queued, so queueing a CoP's reports reads nothing more."""

    inputs: dict[int, ReportInputs]
    stored: dict[int, list[SponsorReport]]
    queued: set[str]


def _due(community: Community, stored: list[SponsorReport], today: date) -> list[Period] | None:
    """The periods to build now; None when the CoP gets no more reports."""
    if Stage(community.stage) not in REPORTING_STAGES:
        return None
    if any(r.final for r in stored):
        return None  # the final report has gone: it covered everything up to the close
    return due_periods(first_day(community), report_kind(community), today,
                       {r.period_start for r in stored})


def read_known(db: Session, communities: Sequence[Community], today: date) -> Known:
    """Read a page of CoPs' report inputs, stored reports and queued keys (a dozen queries)."""
    ids = [c.id for c in communities]
    stored: dict[int, list[SponsorReport]] = {cid: [] for cid in ids}
    for row in db.scalars(select(SponsorReport).where(SponsorReport.community_id.in_(ids))
                          .order_by(SponsorReport.id)):
        stored[row.community_id].append(row)
    inputs = read_inputs(db, ids)
    keys: list[str] = []
    for c in communities:
        due = _due(c, stored[c.id], today)
        if due is None:
            continue
        starts = {r.period_start for r in stored[c.id]} | {p.start for p in due}
        emails = [s.email for s in inputs[c.id].sponsors if s.email]
        keys += [period_key(c.slug, start, email) for start in starts for email in emails]
    return Known(inputs, stored, queued_keys(db, keys))


def queue_due_reports(db: Session, community: Community, *, today: date, flow_run_id: str | None,
                      known: Known | None = None) -> list[str]:
    """Build each ended, unreported period's report and queue it to every sponsor once.
    known: read with this CoP's page (read_known); otherwise read here for this CoP alone."""
    if known is None:
        if Stage(community.stage) not in REPORTING_STAGES:
            return []
        known = read_known(db, [community], today)
    rows = known.stored[community.id]
    due = _due(community, rows, today)
    if due is None:
        return []
    stored = {r.period_start: r for r in rows if not r.final}
    inputs = known.inputs[community.id]
    for period in due:
        stored[period.start] = row = _store_report(
            db, community, build_figures(db, community, period, today=today, inputs=inputs),
            today=today, flow_run_id=flow_run_id)
        rows.append(row)  # built by this run: the page's lines list it
        crash_point("report.stored")
    keys: list[str] = []
    for start, row in sorted(stored.items()):
        keys += _queue_to_sponsors(db, community, row, template="sponsor-report",
                                   key_for=partial(period_key, community.slug, start), today=today,
                                   inputs=inputs, queued=known.queued)
    return keys


def queue_final_report(db: Session, community: Community, *, today: date, flow_run_id: str | None) -> list[str]:
    """The last report, of the CoP's whole life from its launch to today, to every sponsor once."""
    inputs = read_inputs(db, [community.id])[community.id]
    row = db.scalars(select(SponsorReport).where(SponsorReport.community_id == community.id,
                                                 SponsorReport.final.is_(True))).one_or_none()
    if row is None:
        period = Period(min(first_day(community), today), today)
        row = _store_report(db, community, build_figures(db, community, period, today=today, final=True,
                                                         inputs=inputs),
                            today=today, flow_run_id=flow_run_id)
        crash_point("report.stored")
    return _queue_to_sponsors(db, community, row, template="final-sponsor-report",
                              key_for=lambda email: final_key(community.slug, email), today=today,
                              inputs=inputs)


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
    """For a page of CoPs, in one transaction (read together, as health's pages are): queue what
    is due; yield for each CoP what was done, a line for each report this run built, and
    (full_copies) each such report's own operations copy."""
    from tasks.storage.db import session_scope

    with session_scope() as db:
        done = list(_queue_page(db, slugs, today=today, flow_run_id=flow_run_id, full_copies=full_copies))
    yield from done


def _queue_page(db: Session, slugs: list[str], *, today: date, flow_run_id: str | None, full_copies: bool
                ) -> Iterator[tuple[Outcome, list[ReportLine], list[tuple[date, str]]]]:
    from tasks.storage.queries import get_community

    found = {c.slug: c for c in db.scalars(select(Community).where(Community.slug.in_(slugs)))}
    communities = [found.get(slug) or get_community(db, slug) for slug in slugs]  # unknown: one line
    known = read_known(db, communities, today)
    for community in communities:
        slug = community.slug
        keys = queue_due_reports(db, community, today=today, flow_run_id=flow_run_id, known=known)
        built = sorted((r for r in known.stored[community.id] if flow_run_id and r.flow_run_id == flow_run_id),
                       key=lambda r: (r.period_start, r.final))
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
