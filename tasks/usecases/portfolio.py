"""The portfolio (read-only): every CoP's stage, cadence, attendance, fidelity, tasks and next
report, and the people carrying planning or convening in more than one CoP (programme staff)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

from models.fidelity import Fidelity
from models.health import TREND_SESSIONS, attendance_trend, cadence_kept
from models.lifecycle import Stage
from models.portfolio import (
    CONVENOR,
    PLANNING_GROUP,
    PLANNING_LEAD,
    Carrying,
    days_in_stage,
    heavy_loads,
    next_report,
    overdue,
)
from models.stages import REPORTING_STAGES
from models.vocabulary import Cadence, ReportPeriod
from tasks.storage.fidelity import Cop, PageFacts
from tasks.usecases.fidelity import each, summary

CADENCE_CHECKED = (Stage.launching, Stage.active)  # a CoP meant to be meeting now


def _next_report(cop: Cop, facts: PageFacts, today: date) -> dict[str, Any] | None:
    """The sponsor report owed next: None before launch and once the final report has gone."""
    reports = facts.reports[cop.id]
    if Stage(cop.stage) not in REPORTING_STAGES or any(r.final for r in reports):
        return None
    due_now, next_period, due_on = _owed(cop.launched_on or cop.created_on, cop.sponsor_reports or "quarterly",
                                         today, frozenset(r.period_start for r in reports if not r.final))
    return {"due_now": list(due_now), "next_period": next_period, "due_on": due_on}


@lru_cache(maxsize=4096)
def _owed(first_day: date, kind: str, today: date, reported: frozenset[date]) -> tuple[tuple[str, ...], str, str]:
    """next_report's answer in words; CoPs launched together owe the same, so it is worked out once
    (a pure function of its arguments: nothing stored can make a kept answer wrong)."""
    owed = next_report(first_day, ReportPeriod(kind), today, set(reported))
    return tuple(p.label for p in owed.due_now), owed.next_period.label, str(owed.due_on)


def portfolio_row(cop: Cop, facts: PageFacts, fidelity: Fidelity, today: date) -> dict[str, Any]:
    stage = Stage(cop.stage)
    sessions = facts.sessions[cop.id]
    recent = [attended for _, attended in sessions.recent[-TREND_SESSIONS:]]
    entered = facts.stage_entered.get(cop.id, cop.created_on)
    kept = (cadence_kept(today, Cadence(cop.cadence) if cop.cadence else None,
                         sessions.dates[-1] if sessions.dates else None, cop.launched_on)
            if stage in CADENCE_CHECKED else None)
    tasks = [t for t in facts.tasks[cop.id] if t.status == "open"]
    return {
        "slug": cop.slug, "name": cop.name, "stage": cop.stage,
        "in_stage_since": str(entered), "days_in_stage": days_in_stage(entered, today),
        "cadence": cop.cadence, "cadence_kept": kept, "sessions_held": len(sessions.dates),
        "recent_attendance": recent, "attendance_trend": attendance_trend(recent),
        "fidelity": summary(fidelity),
        "open_tasks": len(tasks), "overdue_tasks": overdue([t.due for t in tasks], today),
        "next_report": _next_report(cop, facts, today),
    }


def carrying(cop: Cop, facts: PageFacts) -> list[Carrying]:
    """Who carries this CoP's convening and planning now (nobody once it is archived)."""
    if Stage(cop.stage) is Stage.archived:
        return []
    current = {m.id: m for m in facts.members[cop.id] if m.left_on is None}
    out = [Carrying(m.person_id, m.name, cop.slug, CONVENOR if m.is_convenor else PLANNING_GROUP)
           for m in current.values() if m.is_convenor or m.planning_group]
    for t in facts.terms[cop.id]:
        lead = current.get(t.membership_id)
        if t.ended_on is None and lead is not None:
            out.append(Carrying(lead.person_id, lead.name, cop.slug, PLANNING_LEAD))
    return out


def portfolio(db: Connection, today: date) -> dict[str, Any]:
    """`copflow portfolio`: every CoP's standing, and the people carrying more than one."""
    rows: list[dict[str, Any]] = []
    load: list[Carrying] = []
    for cop, facts, fidelity in each(db, None, today, evidence=False):  # it shows verdicts
        rows.append(portfolio_row(cop, facts, fidelity, today))
        load.extend(carrying(cop, facts))
    return {
        "today": str(today),
        "communities": rows,
        "people_carrying_more_than_one": [
            {"name": person.name, "communities": [{"slug": slug, "roles": list(roles)}
                                                  for slug, roles in person.cops]}
            for person in heavy_loads(load)
        ],
    }
