"""The minimal baseline: what a report or health run needs, written by hand as a short loop.

Not copflow's use cases: a page of CoPs read with a few Core queries, the domain's pure rules
(models/), the same email templates rendered, the same emails sent through the same SMTP server
over one connection. No ORM, no outbox, no records written, no exactly-once bookkeeping: the
floor against which `make bench` sets each flow's CPU time.
"""

from __future__ import annotations

import hashlib
import smtplib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import Connection, select

from models.db.schema import (
    attendance,
    community,
    cop_session,
    membership,
    person,
    planning_task,
    role_term,
    sponsor,
)

PAGE = 100

Run = Callable[[date], dict[str, Any]]


class Mailer:
    """One SMTP connection to the configured server (the benchmark's sink)."""

    def __init__(self) -> None:
        from tasks.storage.settings import get_settings

        self.settings = get_settings()
        self.smtp = smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port)
        self.sent = 0

    def send(self, key: str, to: tuple[str, str], rendered: Any, reply_to: tuple[str, str] | None) -> None:
        """The same message as copflow's: the same headers, a text and an HTML part."""
        msg = EmailMessage()
        msg["Subject"] = rendered.subject
        msg["From"] = Address(display_name=self.settings.email_from_name, addr_spec=self.settings.email_from)
        msg["To"] = Address(display_name=to[0], addr_spec=to[1])
        if reply_to is not None and reply_to[1] != to[1]:
            msg["Reply-To"] = Address(display_name=reply_to[0], addr_spec=reply_to[1])
        msg["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@copflow>"
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["X-Copflow-Key"] = key
        msg.set_content(rendered.text)
        msg.add_alternative(rendered.html, subtype="html")
        self.smtp.send_message(msg)
        self.sent += 1

    def close(self) -> None:
        self.smtp.quit()


def _pages(conn: Connection, stage_in: tuple[str, ...] | None = None) -> Iterator[list[Any]]:
    query = select(community).order_by(community.c.slug)
    if stage_in:
        query = query.where(community.c.stage.in_(stage_in))
    rows = conn.execute(query).all()
    for start in range(0, len(rows), PAGE):
        yield rows[start:start + PAGE]


def _sessions(conn: Connection, ids: list[int], until: date | None = None) -> dict[int, list[Any]]:
    """One query: every session of the page's CoPs with who came and their kind."""
    from models.sessions import SessionFacts

    query = (select(cop_session, membership.c.id.label("mid"), membership.c.is_convenor, membership.c.kind)
             .outerjoin(attendance, attendance.c.session_id == cop_session.c.id)
             .outerjoin(membership, attendance.c.membership_id == membership.c.id)
             .where(cop_session.c.community_id.in_(ids)).order_by(cop_session.c.held_on, cop_session.c.id))
    if until is not None:
        query = query.where(cop_session.c.held_on <= until)
    seen: dict[int, tuple[Any, list[int], list[str]]] = {}
    for r in conn.execute(query):
        s = seen.setdefault(r.id, (r, [], []))
        if r.mid is not None:
            s[1].append(r.mid)
            s[2].append("convenor" if r.is_convenor else r.kind or "practitioner")
    out: dict[int, list[Any]] = defaultdict(list)
    for r, mids, kinds in seen.values():
        out[r.community_id].append(SessionFacts(
            held_on=r.held_on, attendee_kinds=tuple(kinds), attendee_ids=tuple(mids), format=r.format,
            topics=tuple(r.topics or ()), methods=tuple(r.methods or ()), outputs=tuple(r.outputs or ()),
            guests=r.guests or 0))
    return out


def report() -> Run:
    from models.reporting import due_periods, figures
    from models.vocabulary import ReportPeriod
    from tasks.rendering import render_email
    from tasks.storage.db import engine

    def run(today: date) -> dict[str, Any]:
        mailer = Mailer()
        with engine().connect() as conn:
            for page in _pages(conn):
                ids = [c.id for c in page]
                sessions = _sessions(conn, ids)
                convenors = {m.community_id: (m.name, m.email) for m in conn.execute(
                    select(membership.c.community_id, person.c.name, person.c.email)
                    .join(person, membership.c.person_id == person.c.id)
                    .where(membership.c.community_id.in_(ids), membership.c.is_convenor,
                           membership.c.left_on.is_(None)))}
                sponsors: dict[int, list[Any]] = defaultdict(list)
                for s in conn.execute(select(sponsor.c.community_id, person.c.name, person.c.email)
                                      .join(person, sponsor.c.person_id == person.c.id)
                                      .where(sponsor.c.community_id.in_(ids)).order_by(sponsor.c.id)):
                    sponsors[s.community_id].append(s)
                for c in page:
                    kind = ReportPeriod(c.sponsor_reports or "quarterly")
                    for period in due_periods(c.launched_on or c.created_on, kind, today):
                        r = figures(period, sessions[c.id], members_now=30)
                        for s in sponsors[c.id]:
                            mailer.send(f"report:{c.slug}:{period.start}:{s.email}", (s.name, s.email),
                                        render_email("sponsor-report", community=c, sponsor_name=s.name,
                                                     r=r, cadence=c.cadence, successor=None),
                                        convenors.get(c.id))
        mailer.close()
        return {"communities": None, "sent": mailer.sent}

    return run


def _health_inputs(conn: Connection, page: list[Any], today: date) -> Iterator[tuple[Any, Any, Any, Any]]:
    """(community, its convenor, its planning lead, its health inputs) for a page, from five queries."""
    from models.health import HealthInputs
    from models.lifecycle import Stage
    from models.rota import rotation_due
    from models.vocabulary import Cadence

    ids = [c.id for c in page]
    sessions = _sessions(conn, ids, today)
    members: dict[int, list[Any]] = defaultdict(list)
    for m in conn.execute(select(membership, person.c.name, person.c.email)
                          .join(person, membership.c.person_id == person.c.id)
                          .where(membership.c.community_id.in_(ids)).order_by(membership.c.id)):
        members[m.community_id].append(m)
    terms = {t.community_id: t for t in conn.execute(
        select(role_term).where(role_term.c.community_id.in_(ids), role_term.c.ended_on.is_(None)))}
    work: dict[int, Counter[str]] = defaultdict(Counter)
    for cid, name in conn.execute(
            select(planning_task.c.community_id, person.c.name)
            .join(membership, planning_task.c.owner_id == membership.c.id)
            .join(person, membership.c.person_id == person.c.id)
            .where(planning_task.c.community_id.in_(ids), planning_task.c.status == "done")):
        work[cid][name] += 1
    for c in page:
        now = [m for m in members[c.id] if m.left_on is None]
        term = terms.get(c.id)
        pg = [m for m in members[c.id] if m.planning_group and not m.is_convenor]
        inputs = HealthInputs(
            today=today, cadence=Cadence(c.cadence) if c.cadence else None, launched_on=c.launched_on,
            sessions=sessions[c.id], members_now=len(now), planning_work=dict(work[c.id]),
            volunteers=sum(1 for m in now if m.volunteered and not m.opted_out),
            eligible_next=sum(1 for m in now if (m.planning_group or m.volunteered) and not m.opted_out
                              and (term is None or m.id != term.membership_id)),
            rotation_due=term is None or rotation_due(len(sessions[c.id]), term.sessions_at_start,
                                                      c.rotate_every_sessions),
            convenor_left=not any(m.is_convenor for m in now),
            planning_group_total=len(pg), planning_group_left=sum(1 for m in pg if m.left_on is not None),
            work_done=c.work_done, stage=Stage(c.stage),
            first_session=c.first_session.date() if c.first_session else None)
        lead = next((m for m in now if term is not None and m.id == term.membership_id), None)
        yield c, next((m for m in now if m.is_convenor), None), lead, inputs


def health() -> Run:
    from models.health import assess
    from models.stages import HEALTH_STAGES, values
    from tasks.email.outbox import Recipient
    from tasks.rendering import render_email
    from tasks.storage.db import engine

    def run(today: date) -> dict[str, Any]:
        mailer = Mailer()
        checked = 0
        with engine().connect() as conn:
            for page in _pages(conn, tuple(values(HEALTH_STAGES))):
                for c, convenor, lead, inputs in _health_inputs(conn, page, today):
                    checked += 1
                    result = assess(inputs)
                    if result.attention and convenor is not None:
                        reply = Recipient(lead.name, lead.email) if lead is not None else None
                        mailer.send(f"nudge:{c.slug}:{'+'.join(sorted(result.attention))}:{convenor.email}",
                                    (convenor.name, convenor.email), render_email(
                                        "convenor-nudge", community=c, recipient_name=convenor.name,
                                        reply_to=reply, signals=result.attention, figures=result.figures,
                                        member_links={}),
                                    (lead.name, lead.email) if lead is not None else None)
        mailer.close()
        return {"communities": checked, "sent": mailer.sent}

    return run

