"""What sponsor reports read, for a whole page of CoPs in a fixed number of Core queries.

A report's figures need a CoP's sessions with who came, its members and planning leads, its
stories, open tasks, health records and sponsors. Read one CoP at a time through the ORM's
relationships, that was about 30 statements and 20 ms of CPU per CoP; read here for a page,
it is about a dozen statements for the page. `tasks/usecases/sponsor_reports.py` turns these
plain rows into figures with the rules of models/reporting.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db.schema import (
    attendance,
    audit_entry,
    cop_session,
    health_record,
    membership,
    outbox_message,
    person,
    planning_task,
    role_term,
    sponsor,
)
from models.sessions import SessionFacts
from models.stories import StoryFacts
from tasks.usecases.stories import stories_of

NEXT_TASKS = 6  # open tasks a report lists under "what is next"


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    email: str | None
    is_convenor: bool
    opted_out: bool
    joined_on: date
    left_on: date | None


@dataclass(frozen=True)
class Term:
    id: int
    membership_id: int
    started_on: date
    ended_on: date | None
    name: str  # the lead's name


@dataclass(frozen=True)
class SponsorRow:
    name: str
    email: str | None
    added_on: date


@dataclass(frozen=True)
class OpenTask:
    title: str
    due: date | None


@dataclass
class ReportInputs:
    """One CoP's rows, as its reports need them (each list in the order the rules read it)."""

    sessions: list[SessionFacts] = field(default_factory=list)  # by day held
    members: list[Member] = field(default_factory=list)  # everyone ever, in the order they joined
    terms: list[Term] = field(default_factory=list)  # by start, then id
    volunteered: list[tuple[date, Any]] = field(default_factory=list)  # (day, the entry's `after`)
    tasks: list[OpenTask] = field(default_factory=list)  # the first open tasks, soonest due first
    health: list[tuple[date, list[str]]] = field(default_factory=list)  # (day, signals)
    stories: list[StoryFacts] = field(default_factory=list)  # by day told, then id
    sponsors: list[SponsorRow] = field(default_factory=list)  # in the order they were added


def _sessions(db: Session, ids: list[int], into: dict[int, ReportInputs]) -> None:
    """Two queries: every session of these CoPs, and who came to each with their kind."""
    came: dict[int, tuple[list[int], list[str]]] = defaultdict(lambda: ([], []))
    for sid, mid, is_convenor, kind in db.execute(
        select(attendance.c.session_id, membership.c.id, membership.c.is_convenor, membership.c.kind)
        .join(membership, attendance.c.membership_id == membership.c.id)
        .join(cop_session, attendance.c.session_id == cop_session.c.id)
        .where(cop_session.c.community_id.in_(ids)).order_by(attendance.c.session_id, membership.c.id)
    ):
        ids_, kinds = came[sid]
        ids_.append(mid)
        kinds.append("convenor" if is_convenor else (kind or "practitioner"))
    for r in db.execute(
        select(cop_session.c.id, cop_session.c.community_id, cop_session.c.held_on, cop_session.c.format,
               cop_session.c.topics, cop_session.c.methods, cop_session.c.outputs, cop_session.c.guests)
        .where(cop_session.c.community_id.in_(ids)).order_by(cop_session.c.held_on, cop_session.c.id)
    ):
        mids, kinds = came.get(r.id, ([], []))
        into[r.community_id].sessions.append(SessionFacts(
            held_on=r.held_on, attendee_kinds=tuple(kinds), attendee_ids=tuple(mids), format=r.format,
            topics=tuple(r.topics or ()), methods=tuple(r.methods or ()), outputs=tuple(r.outputs or ()),
            guests=r.guests or 0))


def _people(db: Session, ids: list[int], into: dict[int, ReportInputs]) -> None:
    """Members with their names, planning leads' terms, and sponsors: three queries."""
    for m in db.execute(
        select(membership.c.id, membership.c.community_id, membership.c.is_convenor, membership.c.opted_out,
               membership.c.joined_on, membership.c.left_on, person.c.name, person.c.email)
        .join(person, membership.c.person_id == person.c.id)
        .where(membership.c.community_id.in_(ids)).order_by(membership.c.id)
    ):
        into[m.community_id].members.append(Member(
            id=m.id, name=m.name, email=m.email, is_convenor=m.is_convenor, opted_out=m.opted_out,
            joined_on=m.joined_on, left_on=m.left_on))
    for t in db.execute(
        select(role_term.c.id, role_term.c.community_id, role_term.c.membership_id, role_term.c.started_on,
               role_term.c.ended_on, person.c.name)
        .join(membership, role_term.c.membership_id == membership.c.id)
        .join(person, membership.c.person_id == person.c.id)
        .where(role_term.c.community_id.in_(ids)).order_by(role_term.c.started_on, role_term.c.id)
    ):
        into[t.community_id].terms.append(Term(id=t.id, membership_id=t.membership_id,
                                               started_on=t.started_on, ended_on=t.ended_on, name=t.name))
    for s in db.execute(
        select(sponsor.c.community_id, sponsor.c.added_on, person.c.name, person.c.email)
        .join(person, sponsor.c.person_id == person.c.id)
        .where(sponsor.c.community_id.in_(ids)).order_by(sponsor.c.id)
    ):
        into[s.community_id].sponsors.append(SponsorRow(name=s.name, email=s.email, added_on=s.added_on))


def _records(db: Session, ids: list[int], into: dict[int, ReportInputs]) -> None:
    """Volunteering in the audit, open tasks, health records and stories: four queries."""
    for cid, on_date, after in db.execute(
        select(audit_entry.c.community_id, audit_entry.c.on_date, audit_entry.c.after)
        .where(audit_entry.c.community_id.in_(ids), audit_entry.c.action == "member.volunteered")
        .order_by(audit_entry.c.id)
    ):
        into[cid].volunteered.append((on_date, after))
    for cid, title, due in db.execute(
        select(planning_task.c.community_id, planning_task.c.title, planning_task.c.due)
        .where(planning_task.c.community_id.in_(ids), planning_task.c.status == "open")
        .order_by(planning_task.c.due.is_(None), planning_task.c.due, planning_task.c.id)
    ):
        if len(into[cid].tasks) < NEXT_TASKS:
            into[cid].tasks.append(OpenTask(title=title, due=due))
    for cid, on_date, signals in db.execute(
        select(health_record.c.community_id, health_record.c.on_date, health_record.c.signals)
        .where(health_record.c.community_id.in_(ids))
    ):
        into[cid].health.append((on_date, list(signals or ())))
    for cid, told in stories_of(db, ids).items():
        into[cid].stories = told


def read_inputs(db: Session, community_ids: Sequence[int]) -> dict[int, ReportInputs]:
    """Every CoP's report inputs, for a page of CoPs, in nine queries."""
    ids = list(community_ids)
    inputs = {cid: ReportInputs() for cid in ids}
    _sessions(db, ids, inputs)
    _people(db, ids, inputs)
    _records(db, ids, inputs)
    return inputs


def queued_keys(db: Session, keys: Sequence[str]) -> set[str]:
    """Which of these outbox keys are queued already (500 to a query)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(db.scalars(select(outbox_message.c.key)
                                .where(outbox_message.c.key.in_(list(keys[start:start + 500])))))
    return found
