"""SQLAlchemy 2 typed tables. Schema changes go through Alembic (migrations/)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Community(Base):
    __tablename__ = "community"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(Text)
    practice: Mapped[str | None] = mapped_column(Text)
    cadence: Mapped[str | None] = mapped_column(String(20))
    sponsor_reports: Mapped[str] = mapped_column(String(20), default="quarterly")
    rotate_every_sessions: Mapped[int] = mapped_column(Integer, default=3)
    first_session: Mapped[datetime | None] = mapped_column(DateTime)
    session_minutes: Mapped[int] = mapped_column(Integer, default=90)
    format: Mapped[str] = mapped_column(String(20), default="online")
    location: Mapped[str | None] = mapped_column(String(300))
    stage: Mapped[str] = mapped_column(String(20), default="proposed", index=True)
    created_on: Mapped[date] = mapped_column(Date)
    launched_on: Mapped[date | None] = mapped_column(Date)
    # Closing: why, from when, until when; the successor CoP if one was named.
    close_reason: Mapped[str | None] = mapped_column(Text)
    closing_since: Mapped[date | None] = mapped_column(Date)
    notice_ends_on: Mapped[date | None] = mapped_column(Date)
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))
    work_done: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_on: Mapped[date | None] = mapped_column(Date)
    archive_uri: Mapped[str | None] = mapped_column(String(1000))
    # Optimistic locking: a concurrent change makes the loser's UPDATE match no row.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    memberships: Mapped[list[Membership]] = relationship(back_populates="community")
    sponsors: Mapped[list[Sponsorship]] = relationship(back_populates="community")

    __mapper_args__ = {"version_id_col": version}


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Null once erased under the retention setting; the name stays for the record.
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    erased_on: Mapped[date | None] = mapped_column(Date)


class Membership(Base):
    """A person's place in one CoP: convenor or member, and their planning roles."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("community_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    is_convenor: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str | None] = mapped_column(String(30))
    planning_group: Mapped[bool] = mapped_column(Boolean, default=False)
    volunteered: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)

    community: Mapped[Community] = relationship(back_populates="memberships")
    person: Mapped[Person] = relationship()


class Sponsorship(Base):
    """A sponsor of one CoP: informed by reports, never in charge."""

    __tablename__ = "sponsor"
    __table_args__ = (UniqueConstraint("community_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    organisation: Mapped[str | None] = mapped_column(String(300))
    added_on: Mapped[date] = mapped_column(Date)

    community: Mapped[Community] = relationship(back_populates="sponsors")
    person: Mapped[Person] = relationship()


class CopSession(Base):
    """A session the CoP held, with what it covered and what came of it."""

    __tablename__ = "cop_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    format: Mapped[str] = mapped_column(String(20))
    topics: Mapped[list[Any]] = mapped_column(default=list)
    methods: Mapped[list[Any]] = mapped_column(default=list)
    outputs: Mapped[list[Any]] = mapped_column(default=list)
    story: Mapped[str | None] = mapped_column(Text)
    recorded_on: Mapped[date] = mapped_column(Date)

    attendance: Mapped[list[Attendance]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )


class Attendance(Base):
    __tablename__ = "attendance"

    session_id: Mapped[int] = mapped_column(ForeignKey("cop_session.id"), primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"), primary_key=True)

    session: Mapped[CopSession] = relationship(back_populates="attendance")
    membership: Mapped[Membership] = relationship()


class PlanningTask(Base):
    __tablename__ = "planning_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)
    due: Mapped[date | None] = mapped_column(Date)
    owner_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)

    owner: Mapped[Membership] = relationship()


class RoleTerm(Base):
    """Who led planning from when to when."""

    __tablename__ = "role_term"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    # Sessions held when the term began: rotation is due after rotate_every_sessions more.
    sessions_at_start: Mapped[int] = mapped_column(Integer, default=0)

    membership: Mapped[Membership] = relationship()


class AuditEntry(Base):
    """What changed, who did it, when, why, before and after, and the flow run."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    on_date: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60))
    why: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    flow_run_id: Mapped[str | None] = mapped_column(String(64))


class OutboxMessage(Base):
    """Every email is a row here first; a transport delivers it exactly once."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    template: Mapped[str] = mapped_column(String(60))
    to_name: Mapped[str] = mapped_column(String(200))
    to_email: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    calendar: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    queued_on: Mapped[date] = mapped_column(Date)
    queued_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Backoff: a transient failure is not retried before this time.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    transport: Mapped[str | None] = mapped_column(String(20))
    transport_ref: Mapped[str | None] = mapped_column(String(300))


class SponsorReport(Base):
    """One report for one period of one CoP; sent once to each sponsor."""

    __tablename__ = "sponsor_report"
    __table_args__ = (UniqueConstraint("community_id", "period_start", "final"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    figures: Mapped[dict[str, Any]] = mapped_column()
    created_on: Mapped[date] = mapped_column(Date)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))


class HealthRecord(Base):
    __tablename__ = "health_record"
    __table_args__ = (Index("ix_health_community_date", "community_id", "on_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    on_date: Mapped[date] = mapped_column(Date)
    figures: Mapped[dict[str, Any]] = mapped_column()
    signals: Mapped[list[Any]] = mapped_column()
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
