"""What the pages show, read in one short read-only transaction each (Core, no ORM)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, func, select

from models.db.schema import community, cop_session, membership, outbox_message, person, role_term
from models.vocabulary import Cadence
from tasks.storage import selects

SPONSOR_TEMPLATES = ("sponsor-report", "final-sponsor-report")
STEP = {Cadence.weekly: timedelta(days=7), Cadence.fortnightly: timedelta(days=14)}
MONTHS = {Cadence.monthly: 1, Cadence.quarterly: 3}


@dataclass(frozen=True)
class MyCommunity:
    slug: str
    name: str
    stage: str
    domain: str | None
    next_session: date | None
    first_session: datetime | None
    location: str | None
    format: str
    notice_ends_on: date | None
    is_convenor: bool
    planning_group: bool
    volunteered: bool
    opted_out: bool
    emails_stopped: bool
    leads_planning: bool


def next_session(first: datetime | None, cadence: str | None, last_held: date | None,
                 today: date) -> date | None:
    """The first session if it is still to come; else the last one held plus the cadence, rolled on
    past today (an expectation: sessions are set by the convenor)."""
    if first is not None and first.date() >= today:
        return first.date()
    base = last_held or (first.date() if first is not None else None)
    if base is None or cadence is None:
        return None
    step = Cadence(cadence)
    nxt, n = base, 0
    while nxt < today or nxt == base:
        n += 1
        nxt = _plus(base, step, n)
    return nxt


def _plus(base: date, cadence: Cadence, n: int) -> date:
    if cadence in STEP:
        return base + STEP[cadence] * n
    months = base.month - 1 + MONTHS[cadence] * n
    year, month = base.year + months // 12, months % 12 + 1
    for day in (base.day, 30, 29, 28):  # the 31st of a shorter month: its last day
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _communities(person_id: int):  # type: ignore[no-untyped-def]
    last = (select(func.max(cop_session.c.held_on)).where(cop_session.c.community_id == community.c.id)
            .scalar_subquery())
    lead = selects.open_term(select(role_term.c.membership_id), community.c.id).scalar_subquery()
    return (select(community, membership.c.is_convenor, membership.c.planning_group,
                   membership.c.volunteered, membership.c.opted_out, membership.c.emails_stopped,
                   (lead == membership.c.id).label("leads"), last.label("last_held"))
            .join(membership, membership.c.community_id == community.c.id)
            .where(membership.c.person_id == person_id, membership.c.left_on.is_(None))
            .order_by(community.c.name))


def my_communities(db: Connection, person_id: int, today: date, slug: str | None = None) -> list[MyCommunity]:
    query = _communities(person_id)
    if slug is not None:
        query = query.where(community.c.slug == slug)
    return [MyCommunity(
        slug=r.slug, name=r.name, stage=r.stage, domain=r.domain,
        next_session=None if r.stage in ("closing", "archived") else
        next_session(r.first_session, r.cadence, r.last_held, today),
        first_session=r.first_session, location=r.location, format=r.format,
        notice_ends_on=r.notice_ends_on, is_convenor=r.is_convenor, planning_group=r.planning_group,
        volunteered=r.volunteered, opted_out=r.opted_out, emails_stopped=r.emails_stopped,
        leads_planning=bool(r.leads)) for r in db.execute(query)]


@dataclass(frozen=True)
class SentReport:
    id: int
    subject: str
    sent_at: datetime | None
    text: str


def reports_sent_to(db: Connection, email: str, report_id: int | None = None) -> list[SentReport]:
    """Sponsor reports sent to this address (only ever these: nothing they could act on)."""
    query = (select(outbox_message.c.id, outbox_message.c.subject, outbox_message.c.sent_at,
                    outbox_message.c.text_body)
             .where(outbox_message.c.to_email == email, outbox_message.c.status == "sent",
                    outbox_message.c.template.in_(SPONSOR_TEMPLATES))
             .order_by(outbox_message.c.id.desc()))
    if report_id is not None:
        query = query.where(outbox_message.c.id == report_id)
    return [SentReport(r.id, r.subject, r.sent_at, r.text_body) for r in db.execute(query.limit(200))]


def person_name(db: Connection, person_id: int) -> str | None:
    return db.scalar(select(person.c.name).where(person.c.id == person_id))


def community_name(db: Connection, community_id: int) -> tuple[str, str] | None:
    row = db.execute(select(community.c.slug, community.c.name).where(community.c.id == community_id)).first()
    return None if row is None else (row.slug, row.name)
