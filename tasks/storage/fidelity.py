"""The facts fidelity and the portfolio read, for a page of CoPs at once (Core, read-only).

A page costs a fixed number of statements however many CoPs it holds (PAGE_SIZE of them), so
`copflow portfolio` over 1,000 CoPs asks a few dozen questions, not a few per CoP. No ORM: the
read-only commands never load it (tasks/storage/views.py explains why).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, Table, Text, and_, bindparam, case, cast, distinct, func, or_, select

from models.db.schema import (
    attendance,
    audit_entry,
    community,
    cop_session,
    membership,
    outbox_message,
    person,
    planning_task,
    role_term,
    sponsor,
    sponsor_report,
    story,
)
from models.fidelity import (
    COMMUNITY_MIN_PEOPLE,
    FINAL_REPORT,
    RECENT_SESSIONS,
    SPONSOR_REPORT,
    FidelityInputs,
    SharedStory,
    SponsorRole,
    StoryFact,
    Term,
)
from models.health import TREND_SESSIONS
from models.lifecycle import Stage
from models.sessions import RECENT_KEPT, SessionsHeld
from models.vocabulary import Cadence

PAGE_SIZE = 500  # CoPs read together: a handful of statements each page, IN lists well within limits
AnyRow = Row[*tuple[Any, ...]]


# The rows a page is read into: plain named tuples, whose fields read about ten times faster than
# a Row's (the portfolio reads some eighty a CoP), each selecting its columns by its field names.
class Cop(NamedTuple):
    """A row of the community table."""

    id: int
    slug: str
    name: str
    domain: str | None
    practice: str | None
    cadence: str | None
    sponsor_reports: str
    rotate_every_sessions: int
    first_session: datetime | None
    session_minutes: int
    format: str
    location: str | None
    stage: str
    created_on: date
    launched_on: date | None
    close_reason: str | None
    closing_since: date | None
    notice_ends_on: date | None
    successor_id: int | None
    work_done: bool
    archived_on: date | None
    archive_uri: str | None
    version: int


class Member(NamedTuple):
    """A member carrying something fidelity or the portfolio looks at, with their name."""

    id: int
    community_id: int
    person_id: int
    is_convenor: bool
    planning_group: bool
    left_on: date | None
    name: str


class Sponsor(NamedTuple):
    community_id: int
    person_id: int
    name: str


class LeadTerm(NamedTuple):
    """A term of leading planning, as stored."""

    community_id: int
    membership_id: int
    started_on: date
    ended_on: date | None
    sessions_at_start: int


class Task(NamedTuple):
    community_id: int
    owner_id: int
    status: str
    due: date | None


def _columns(table: Table, row: type[tuple[Any, ...]]) -> list[Any]:
    """The table's columns named by the row type's fields, in their order."""
    return [table.c[name] for name in row._fields]  # type: ignore[attr-defined]
NONE_HELD = SessionsHeld(dates=(), recent=(), outputs=0, topics=0, recent_people=0)
TRENDS_KEPT = max(RECENT_SESSIONS, TREND_SESSIONS)  # the last sessions fidelity and the portfolio look at
NO_WORDS = "[]"  # a JSON list column with nothing in it, as stored


@dataclass
class PageFacts:
    """Everything a page of CoPs needs, grouped by community id."""

    members: dict[int, list[Member]] = field(default_factory=lambda: defaultdict(list))
    sponsors: dict[int, list[Sponsor]] = field(default_factory=lambda: defaultdict(list))
    sessions: dict[int, SessionsHeld] = field(default_factory=lambda: defaultdict(lambda: NONE_HELD))
    terms: dict[int, list[LeadTerm]] = field(default_factory=lambda: defaultdict(list))
    tasks: dict[int, list[Task]] = field(default_factory=lambda: defaultdict(list))
    sponsors_acting: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    stage_entered: dict[int, date] = field(default_factory=dict)
    email_kinds: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    reports: dict[int, list[AnyRow]] = field(default_factory=lambda: defaultdict(list))
    stories: dict[int, list[AnyRow]] = field(default_factory=lambda: defaultdict(list))
    names: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # see _read_names


def communities(db: Connection, slug: str | None = None) -> list[Cop]:
    """Every CoP (or the one named), by slug."""
    query = select(*_columns(community, Cop)).order_by(community.c.slug)
    if slug is not None:
        query = query.where(community.c.slug == slug)
    return [Cop._make(row) for row in db.execute(query).all()]


def read_page(db: Connection, cops: Sequence[Cop], today: date, *, slug_range: bool = False,
              keep: int = RECENT_KEPT, people: bool = True) -> PageFacts:
    """The facts of a page of CoPs, in eleven statements (and one to three more only where
    needed), each fetched at once (not row by row).
    slug_range: the page is every CoP from its first slug to its last (a page of communities()),
    so a statement names the range, not each id. keep: how many of each CoP's last sessions have
    their attendance counted (the portfolio's rules look at the last TRENDS_KEPT; a CoP's page at more).
    people: as _read_sessions'."""
    ids = (select(community.c.id).where(community.c.slug.between(cops[0].slug, cops[-1].slug))
           if slug_range and cops else _ids([c.id for c in cops]))
    facts = PageFacts()
    # Only the members who carry something fidelity and the portfolio look at: a convenor, the
    # planning group, a lead, an owner of a task, or a sponsor (a few per CoP, not every member).
    carries = or_(membership.c.is_convenor, membership.c.planning_group,
                  membership.c.id.in_(select(role_term.c.membership_id).where(role_term.c.community_id.in_(ids))),
                  membership.c.id.in_(select(planning_task.c.owner_id)
                                      .where(planning_task.c.community_id.in_(ids))),
                  membership.c.person_id.in_(select(sponsor.c.person_id).where(sponsor.c.community_id.in_(ids))))
    for m in db.execute(
        select(*(membership.c[name] for name in Member._fields[:-1]), person.c.name)
        .join(person, person.c.id == membership.c.person_id)
        .where(membership.c.community_id.in_(ids), carries).order_by(membership.c.id)
    ).all():
        facts.members[m[1]].append(Member._make(m))
    for s in db.execute(
        select(sponsor.c.community_id, sponsor.c.person_id, person.c.name)
        .join(person, person.c.id == sponsor.c.person_id).where(sponsor.c.community_id.in_(ids))
    ).all():
        facts.sponsors[s[0]].append(Sponsor._make(s))
    _read_sessions(db, ids, today, facts, keep, people)
    for t in db.execute(
        select(*_columns(role_term, LeadTerm))
        .where(role_term.c.community_id.in_(ids)).order_by(role_term.c.started_on, role_term.c.id)
    ).all():
        facts.terms[t[0]].append(LeadTerm._make(t))
    for task in db.execute(
        select(*_columns(planning_task, Task)).where(planning_task.c.community_id.in_(ids))
    ).all():
        facts.tasks[task[0]].append(Task._make(task))
    _read_audit(db, ids, facts)
    for cid, template, count in db.execute(
        select(outbox_message.c.community_id, outbox_message.c.template, func.count())
        .where(outbox_message.c.community_id.in_(ids))
        .group_by(outbox_message.c.community_id, outbox_message.c.template)
    ).all():
        facts.email_kinds[cid].extend([template] * count)
    for r in db.execute(  # with the stories each report carried beyond the CoP, as stored
        select(sponsor_report.c.community_id, sponsor_report.c.period_start, sponsor_report.c.period_end,
               sponsor_report.c.final, sponsor_report.c.created_on,
               sponsor_report.c.figures["stories"].label("stories"),
               sponsor_report.c.figures["period_label"].label("period_label"))
        .where(sponsor_report.c.community_id.in_(ids))
        .order_by(sponsor_report.c.period_start, sponsor_report.c.final)
    ).all():
        facts.reports[r.community_id].append(r)
    _read_names(db, facts)
    return facts


def _read_names(db: Connection, facts: PageFacts) -> None:
    """Every member's name, for the CoPs whose reports carried stories: an anonymous story must
    name none of them (one statement, and none when no report carried a story)."""
    told = [cid for cid, reports in facts.reports.items() if any(r.stories for r in reports)]
    if told:
        for cid, name in db.execute(select(membership.c.community_id, person.c.name)
                                    .join(person, person.c.id == membership.c.person_id)
                                    .where(membership.c.community_id.in_(_ids(told)))).all():
            facts.names[cid].append(name)


def _read_sessions(db: Connection, ids: Any, today: date, facts: PageFacts, keep: int, people: bool) -> None:
    """Each CoP's sessions held by today, summarised (models.sessions.SessionsHeld: no object per
    session) with how many came to its last `keep` (guests included), and the stories told by then.
    people: count the different people at every CoP's last RECENT_SESSIONS (fidelity's evidence
    states it); False: only where no one of those sessions had COMMUNITY_MIN_PEOPLE (the verdict
    turns on it only there). Three statements; a fourth for the CoPs whose practice shows in neither
    outputs nor stories (their topics), and a fifth for the people counted, when there are any."""
    held = and_(cop_session.c.community_id.in_(ids), cop_session.c.held_on <= today)
    outputs = cast(cop_session.c.outputs, Text)
    dates: dict[int, list[date]] = defaultdict(list)
    seated: dict[int, list[tuple[int, int]]] = defaultdict(list)  # (session id, guests), as dates
    made: dict[int, set[str]] = defaultdict(set)
    decoded: dict[str, list[str]] = {}  # outputs repeat across CoPs: decode each text once
    for cid, sid, held_on, guests, raw in db.execute(
        select(cop_session.c.community_id, cop_session.c.id, cop_session.c.held_on, cop_session.c.guests,
               case((outputs != NO_WORDS, outputs)))
        .where(held).order_by(cop_session.c.held_on, cop_session.c.id)
    ).all():
        dates[cid].append(held_on)
        seated[cid].append((sid, guests))
        if raw:  # most sessions have none (None here)
            made[cid].update(_listed(raw, decoded))
    last = {cid: sessions[-keep:] for cid, sessions in seated.items()}
    came = _attended(db, [sid for sessions in last.values() for sid, _ in sessions])
    counts = {cid: [came.get(sid, 0) + guests for sid, guests in sessions] for cid, sessions in last.items()}
    counted = _different_people(db, {cid: [sid for sid, _ in last[cid][-RECENT_SESSIONS:]] for cid in last
                                     if people or max(counts[cid][-RECENT_SESSIONS:]) < COMMUNITY_MIN_PEOPLE})
    for t in db.execute(select(story.c.id, story.c.community_id, story.c.consent)
                        .where(story.c.community_id.in_(ids), story.c.told_on <= today)
                        .order_by(story.c.id)).all():
        facts.stories[t.community_id].append(t)
    topics = _topics(db, today, [cid for cid in dates if not made.get(cid) and not facts.stories.get(cid)])
    for cid, days in dates.items():
        # As models.fidelity.summarise counts them: a session's guests are people too, though unnamed.
        people_at = counted.get(cid)
        facts.sessions[cid] = SessionsHeld(
            dates=tuple(days), recent=tuple(zip(days[-keep:], counts[cid], strict=True)),
            outputs=len(made.get(cid, ())), topics=topics.get(cid),
            recent_people=None if people_at is None else max(people_at, *counts[cid][-RECENT_SESSIONS:]))


def _attended(db: Connection, sessions: list[int]) -> dict[int, int]:
    """How many members came to each of these sessions (a walk of attendance's key, no window)."""
    if not sessions:
        return {}
    return dict(db.execute(
        select(attendance.c.session_id, func.count())
        .where(attendance.c.session_id.in_(bindparam("sessions", sessions, expanding=True)))
        .group_by(attendance.c.session_id)).all())


def _different_people(db: Connection, sessions_of: dict[int, list[int]]) -> dict[int, int]:
    """Per CoP, the different members who came to the sessions given (none asked: no statement)."""
    wanted = [sid for sessions in sessions_of.values() for sid in sessions]
    if not wanted:
        return {}
    found = dict.fromkeys(sessions_of, 0)
    found.update(db.execute(
        select(cop_session.c.community_id, func.count(distinct(attendance.c.membership_id)))
        .join(attendance, attendance.c.session_id == cop_session.c.id)
        .where(cop_session.c.id.in_(bindparam("sessions", wanted, expanding=True)))
        .group_by(cop_session.c.community_id)).all())
    return found


def _topics(db: Connection, today: date, quiet: list[int]) -> dict[int, int]:
    """The different topics of the CoPs whose practice shows in neither outputs nor stories (the
    only ones fidelity asks about): no statement when there are none, as on most pages."""
    if not quiet:
        return {}
    found: dict[int, set[str]] = {cid: set() for cid in quiet}
    decoded: dict[str, list[str]] = {}
    for cid, raw in db.execute(select(cop_session.c.community_id, cast(cop_session.c.topics, Text))
                               .where(cop_session.c.community_id.in_(bindparam("quiet", quiet, expanding=True)),
                                      cop_session.c.held_on <= today)).all():
        found[cid].update(_listed(raw, decoded))
    return {cid: len(topics) for cid, topics in found.items()}


def _listed(raw: str | None, decoded: dict[str, list[str]]) -> list[str]:
    """A JSON list column's text as a list, decoded once per distinct text."""
    if not raw:
        return []
    if raw not in decoded:
        decoded[raw] = json.loads(raw) or []
    return decoded[raw]


def _ids(ids: list[int]) -> Any:
    """The page's community ids as one expanding parameter: bound once per statement, not
    coerced id by id as a Python list given to in_() would be (500 ids, a dozen statements)."""
    return bindparam("ids", ids, expanding=True)


def _read_audit(db: Connection, ids: Any, facts: PageFacts) -> None:
    """When each CoP entered its stage, and which sponsors ever acted on it (two statements)."""
    for cid, on_date in db.execute(
        select(audit_entry.c.community_id, func.max(audit_entry.c.on_date))
        .where(audit_entry.c.community_id.in_(ids), audit_entry.c.action == "stage.changed")
        .group_by(audit_entry.c.community_id)
    ).all():
        facts.stage_entered[cid] = on_date
    # An audit entry names its actor by address: a sponsor's address there means a sponsor acted.
    for cid, pid in db.execute(
        select(audit_entry.c.community_id, sponsor.c.person_id).distinct()
        .join(sponsor, sponsor.c.community_id == audit_entry.c.community_id)
        .join(person, and_(person.c.id == sponsor.c.person_id, person.c.email == audit_entry.c.actor))
        .where(audit_entry.c.community_id.in_(ids))
    ).all():
        facts.sponsors_acting[cid].add(pid)


def story_facts(stories: Sequence[AnyRow]) -> list[StoryFact]:
    """Each story told by then, with its teller's consent as recorded."""
    return [StoryFact(consent=s.consent, story_id=s.id) for s in stories]


def shared_stories(reports: Sequence[AnyRow], today: date) -> list[SharedStory]:
    """Every story each report stored by then carried beyond the CoP, in the words that left
    (the evidence fidelity judges against the recorded consent; nothing here is inferred)."""
    shared = []
    for r in reports:
        if r.created_on > today:
            continue
        for raw in r.stories or ():  # models.reporting.Story, as stored (older ones have no id)
            story_id = raw.get("story_id")
            shared.append(SharedStory(
                story_id=story_id if isinstance(story_id, int) else None,
                place=FINAL_REPORT if r.final else SPONSOR_REPORT, period=str(r.period_label or ""),
                text=str(raw.get("text", "")), teller=raw.get("teller") or None))
    return shared


def _terms(facts: PageFacts, cop: Cop, person_of: dict[int, tuple[int, str]]) -> list[Term]:
    """Each term of leading planning with the sessions held during it."""
    rows = facts.terms[cop.id]
    held = len(facts.sessions[cop.id].dates)
    ends = [r.sessions_at_start for r in rows[1:]] + [held] if rows else []
    return [Term(person=person_of[r.membership_id][0], name=person_of[r.membership_id][1],
                 started_on=r.started_on, sessions=max(end - r.sessions_at_start, 0))
            for r, end in zip(rows, ends, strict=True)]


def _sponsor_roles(facts: PageFacts, cop: Cop) -> list[SponsorRole]:
    """Sponsors found as convenor, on the planning group, leading planning, or acting."""
    members = facts.members[cop.id]
    people, acting = {m.person_id for m in members}, facts.sponsors_acting.get(cop.id, ())
    roles: list[SponsorRole] = []
    for s in facts.sponsors[cop.id]:
        if s.person_id not in people and s.person_id not in acting:
            continue  # the usual case: a sponsor holds no membership and never acted
        theirs = [m for m in members if m.person_id == s.person_id]
        leads = {t.membership_id for t in facts.terms[cop.id]}
        for role, found in (("convenor", any(m.is_convenor for m in theirs)),
                            ("planning-group", any(m.planning_group and not m.is_convenor for m in theirs)),
                            ("led-planning", any(m.id in leads for m in theirs)),
                            ("acted", s.person_id in facts.sponsors_acting[cop.id])):
            if found:
                roles.append(SponsorRole(name=s.name, role=role))
    return roles


def fidelity_inputs(facts: PageFacts, cop: Cop, today: date) -> FidelityInputs:
    person_of = {m.id: (m.person_id, m.name) for m in facts.members[cop.id]}
    work: dict[str, int] = {}  # as Counter would count them, in the same order, without its cost
    for t in facts.tasks[cop.id]:
        if t.status == "done":
            name = person_of[t.owner_id][1]
            work[name] = work.get(name, 0) + 1
    stage = Stage(cop.stage)
    return FidelityInputs(
        today=today, stage=stage, domain=cop.domain, practice=cop.practice,
        cadence=Cadence(cop.cadence) if cop.cadence else None, launched_on=cop.launched_on,
        ended_on=cop.archived_on if stage is Stage.archived else cop.closing_since,
        rotate_every=cop.rotate_every_sessions, sessions=(), held=facts.sessions[cop.id],
        sponsors=len(facts.sponsors[cop.id]), sponsor_roles=_sponsor_roles(facts, cop),
        terms=_terms(facts, cop, person_of), planning_work=work,
        email_kinds=facts.email_kinds[cop.id],
        stories=story_facts(facts.stories[cop.id]), shared=shared_stories(facts.reports[cop.id], today),
        names=facts.names[cop.id] + [s.name for s in facts.sponsors[cop.id]],
    )
