"""The ORM classes, mapped onto the Core tables of models/db/schema.py ("declarative with
imperative table"). The schema is defined there once; the Mapped annotations here type the
attributes. Schema changes go through Alembic (migrations/)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from models.db import schema


class Base(DeclarativeBase):
    metadata = schema.metadata


class Community(Base):
    __table__ = schema.community

    id: Mapped[int]
    slug: Mapped[str]
    name: Mapped[str]
    domain: Mapped[str | None]
    practice: Mapped[str | None]
    cadence: Mapped[str | None]
    sponsor_reports: Mapped[str]
    rotate_every_sessions: Mapped[int]
    first_session: Mapped[datetime | None]
    session_minutes: Mapped[int]
    format: Mapped[str]
    location: Mapped[str | None]
    stage: Mapped[str]
    created_on: Mapped[date]
    launched_on: Mapped[date | None]
    # Closing: why, from when, until when; the successor CoP if one was named.
    close_reason: Mapped[str | None]
    closing_since: Mapped[date | None]
    notice_ends_on: Mapped[date | None]
    successor_id: Mapped[int | None]
    work_done: Mapped[bool]
    archived_on: Mapped[date | None]
    archive_uri: Mapped[str | None]
    # Optimistic locking: a concurrent change makes the loser's UPDATE match no row.
    version: Mapped[int]

    memberships: Mapped[list[Membership]] = relationship(back_populates="community")
    sponsors: Mapped[list[Sponsorship]] = relationship(back_populates="community")

    __mapper_args__ = {"version_id_col": schema.community.c.version}  # noqa: RUF012 - SQLAlchemy's own hook


class Person(Base):
    __table__ = schema.person

    id: Mapped[int]
    name: Mapped[str]
    # Null once erased under the retention setting; the name stays for the record.
    email: Mapped[str | None]
    erased_on: Mapped[date | None]


class Membership(Base):
    """A person's place in one CoP: convenor or member, and their planning roles."""

    __table__ = schema.membership

    id: Mapped[int]
    community_id: Mapped[int]
    person_id: Mapped[int]
    is_convenor: Mapped[bool]
    kind: Mapped[str | None]
    planning_group: Mapped[bool]
    volunteered: Mapped[bool]
    opted_out: Mapped[bool]
    emails_stopped: Mapped[bool]
    joined_on: Mapped[date]
    left_on: Mapped[date | None]
    convened_until: Mapped[date | None]

    community: Mapped[Community] = relationship(back_populates="memberships")
    person: Mapped[Person] = relationship()


class Sponsorship(Base):
    """A sponsor of one CoP: informed by reports, never in charge."""

    __table__ = schema.sponsor

    id: Mapped[int]
    community_id: Mapped[int]
    person_id: Mapped[int]
    organisation: Mapped[str | None]
    added_on: Mapped[date]

    community: Mapped[Community] = relationship(back_populates="sponsors")
    person: Mapped[Person] = relationship()


class CopSession(Base):
    """A session the CoP held, with what it covered and what came of it."""

    __table__ = schema.cop_session

    id: Mapped[int]
    community_id: Mapped[int]
    held_on: Mapped[date]
    format: Mapped[str]
    topics: Mapped[list[Any]]
    methods: Mapped[list[Any]]
    outputs: Mapped[list[Any]]
    # Guests (a speaker, visitors): counted in attendance, with no name or contact details.
    guests: Mapped[int]
    recorded_on: Mapped[date]

    attendance: Mapped[list[Attendance]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )
    stories: Mapped[list[Story]] = relationship(back_populates="session", order_by="Story.id")


class Story(Base):
    """A story of change, told at a session or surfaced later; shared only as consent allows."""

    __table__ = schema.story

    id: Mapped[int]
    community_id: Mapped[int]
    session_id: Mapped[int | None]
    told_on: Mapped[date]
    text: Mapped[str]
    teller_id: Mapped[int | None]
    consent: Mapped[str]
    recorded_on: Mapped[date]

    session: Mapped[CopSession | None] = relationship(back_populates="stories")
    teller: Mapped[Person | None] = relationship()


class PlannedSession(Base):
    """A session planned ahead: one calendar entry (uid) that each change of date updates."""

    __table__ = schema.planned_session

    id: Mapped[int]
    community_id: Mapped[int]
    uid: Mapped[str]
    starts_at: Mapped[datetime]
    agenda: Mapped[list[Any]]
    sequence: Mapped[int]
    planned_on: Mapped[date]
    held_on: Mapped[date | None]


class Attendance(Base):
    __table__ = schema.attendance

    session_id: Mapped[int]
    membership_id: Mapped[int]

    session: Mapped[CopSession] = relationship(back_populates="attendance")
    membership: Mapped[Membership] = relationship()


class PlanningTask(Base):
    __table__ = schema.planning_task

    id: Mapped[int]
    community_id: Mapped[int]
    title: Mapped[str]
    notes: Mapped[str | None]
    due: Mapped[date | None]
    owner_id: Mapped[int]
    status: Mapped[str]
    created_on: Mapped[date]
    done_on: Mapped[date | None]

    owner: Mapped[Membership] = relationship()


class RoleTerm(Base):
    """Who led planning from when to when."""

    __table__ = schema.role_term

    id: Mapped[int]
    community_id: Mapped[int]
    membership_id: Mapped[int]
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    # Sessions held when the term began: rotation is due after rotate_every_sessions more.
    sessions_at_start: Mapped[int]

    membership: Mapped[Membership] = relationship()


class AuditEntry(Base):
    """What changed, who did it, when, why, before and after, and the flow run."""

    __table__ = schema.audit_entry

    id: Mapped[int]
    community_id: Mapped[int | None]
    recorded_at: Mapped[datetime]
    on_date: Mapped[date]
    actor: Mapped[str]
    action: Mapped[str]
    why: Mapped[str | None]
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    flow_run_id: Mapped[str | None]
    operator: Mapped[str | None]
    channel: Mapped[str | None]


class FlowText(Base):
    """Free text typed for a flow run, which the run reads by id (see schema.flow_text)."""

    __table__ = schema.flow_text

    id: Mapped[int]
    community_id: Mapped[int | None]
    fields: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class OutboxMessage(Base):
    """Every email is a row here first; a transport delivers it exactly once."""

    __table__ = schema.outbox_message

    id: Mapped[int]
    key: Mapped[str]
    community_id: Mapped[int | None]
    template: Mapped[str]
    to_name: Mapped[str]
    to_email: Mapped[str]
    reply_to_name: Mapped[str | None]
    reply_to_email: Mapped[str | None]
    subject: Mapped[str]
    text_body: Mapped[str]
    html_body: Mapped[str]
    calendar: Mapped[str | None]
    status: Mapped[str]
    attempts: Mapped[int]
    last_error: Mapped[str | None]
    queued_on: Mapped[date]
    queued_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    # Backoff: a transient failure is not retried before this time.
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    transport: Mapped[str | None]
    transport_ref: Mapped[str | None]
    resends: Mapped[int]


class SponsorReport(Base):
    """One report for one period of one CoP; sent once to each sponsor."""

    __table__ = schema.sponsor_report

    id: Mapped[int]
    community_id: Mapped[int]
    period_start: Mapped[date]
    period_end: Mapped[date]
    final: Mapped[bool]
    figures: Mapped[dict[str, Any]]
    created_on: Mapped[date]
    flow_run_id: Mapped[str | None]


class HealthRecord(Base):
    __table__ = schema.health_record

    id: Mapped[int]
    community_id: Mapped[int]
    on_date: Mapped[date]
    figures: Mapped[dict[str, Any]]
    signals: Mapped[list[Any]]
    flow_run_id: Mapped[str | None]


class WebToken(Base):
    """A one-time sign-in link, or an email action link once used (tokens stored hashed)."""

    __table__ = schema.web_token

    id: Mapped[int]
    purpose: Mapped[str]
    token_hash: Mapped[str]
    person_id: Mapped[int | None]
    address_hash: Mapped[str | None]
    client_hash: Mapped[str | None]
    next_path: Mapped[str | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser; ended_at set by signing out, after which its cookie is refused."""

    __table__ = schema.web_session

    id: Mapped[int]
    session_hash: Mapped[str]
    person_id: Mapped[int]
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
