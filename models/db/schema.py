"""The tables as SQLAlchemy Core `Table`s: the one definition of the schema.

Read-only commands query these with Core `select()`s and never load the ORM (about a fifth of
a second of start-up); models/db/tables.py maps the ORM classes onto the same tables for writes.
Schema changes go through Alembic (tasks/storage/migrations/), which compares against `metadata`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

community = Table(
    "community",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("domain", Text),
    Column("practice", Text),
    Column("cadence", String(20)),
    Column("sponsor_reports", String(20), nullable=False, default="quarterly"),
    Column("rotate_every_sessions", Integer, nullable=False, default=3),
    Column("first_session", DateTime),
    Column("session_minutes", Integer, nullable=False, default=90),
    Column("format", String(20), nullable=False, default="online"),
    Column("location", String(300)),
    Column("stage", String(20), nullable=False, default="proposed", index=True),
    Column("created_on", Date, nullable=False),
    Column("launched_on", Date),
    # Closing: why, from when, until when; the successor CoP if one was named.
    Column("close_reason", Text),
    Column("closing_since", Date),
    Column("notice_ends_on", Date),
    Column("successor_id", Integer, ForeignKey("community.id")),
    Column("work_done", Boolean, nullable=False, default=False),
    Column("archived_on", Date),
    Column("archive_uri", String(1000)),
    # Optimistic locking: a concurrent change makes the loser's UPDATE match no row.
    Column("version", Integer, nullable=False, default=1),
)

person = Table(
    "person",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    # Null once erased under the retention setting; the name stays for the record.
    Column("email", String(320), unique=True),
    Column("erased_on", Date),
)

# A person's place in one CoP: convenor or member, and their planning roles.
membership = Table(
    "membership",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("community.id"), nullable=False, index=True),
    Column("person_id", Integer, ForeignKey("person.id"), nullable=False, index=True),
    Column("is_convenor", Boolean, nullable=False, default=False),
    Column("kind", String(30)),
    Column("planning_group", Boolean, nullable=False, default=False),
    Column("volunteered", Boolean, nullable=False, default=False),
    Column("opted_out", Boolean, nullable=False, default=False),
    # The member asked for no more of this CoP's non-essential emails (tasks/usecases/common.py).
    Column("emails_stopped", Boolean, nullable=False, default=False, server_default=false()),
    Column("joined_on", Date, nullable=False),
    Column("left_on", Date),
    # The day they handed the convenor role on (None: never convenor, or convenor still), so the
    # health check knows when the people who started the CoP have moved on.
    Column("convened_until", Date),
    UniqueConstraint("community_id", "person_id"),
)

# A sponsor of one CoP: informed by reports, never in charge.
sponsor = Table(
    "sponsor",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("community.id"), nullable=False, index=True),
    Column("person_id", Integer, ForeignKey("person.id"), nullable=False, index=True),
    Column("organisation", String(300)),
    Column("added_on", Date, nullable=False),
    UniqueConstraint("community_id", "person_id"),
)

# A session the CoP held, with what it covered and what came of it.
cop_session = Table(
    "cop_session",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("community.id"), nullable=False, index=True),
    Column("held_on", Date, nullable=False),
    Column("format", String(20), nullable=False),
    Column("topics", JSON, nullable=False, default=list),
    Column("methods", JSON, nullable=False, default=list),
    Column("outputs", JSON, nullable=False, default=list),
    # Guests (a speaker, visitors): counted in attendance, with no name or contact details.
    Column("guests", Integer, nullable=False, default=0),
    Column("recorded_on", Date, nullable=False),
)

# A story of change: told at a session, or surfaced later (then on the CoP, with its own date).
# Shared beyond the CoP only as the teller's consent allows (models/stories.py).
story = Table(
    "story",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("community.id"), nullable=False, index=True),
    Column("session_id", Integer, ForeignKey("cop_session.id"), index=True),
    Column("told_on", Date, nullable=False),
    Column("text", Text, nullable=False),
    Column("teller_id", Integer, ForeignKey("person.id")),
    Column("consent", String(10), nullable=False, default="private"),
    Column("recorded_on", Date, nullable=False),
)

# A session planned ahead: one calendar entry (uid) that each change of date updates (sequence).
planned_session = Table(
    "planned_session",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("community.id"), nullable=False, index=True),
    Column("uid", String(200), nullable=False, unique=True),
    Column("starts_at", DateTime, nullable=False),
    Column("agenda", JSON, nullable=False, default=list),
    Column("sequence", Integer, nullable=False, default=0),
    Column("planned_on", Date, nullable=False),
    # Set once a session is recorded on or after the planned day: the plan is then history.
    Column("held_on", Date),
)

attendance = Table(
    "attendance",
    metadata,
    Column("session_id", Integer, ForeignKey("cop_session.id"), primary_key=True),
    Column("membership_id", Integer, ForeignKey("membership.id"), primary_key=True),
)

planning_task = Table(
    "planning_task",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("community.id"), nullable=False, index=True),
    Column("title", String(300), nullable=False),
    Column("notes", Text),
    Column("due", Date),
    Column("owner_id", Integer, ForeignKey("membership.id"), nullable=False),
    Column("status", String(10), nullable=False, default="open"),
    Column("created_on", Date, nullable=False),
    Column("done_on", Date),
)

# Who led planning from when to when.
role_term = Table(
    "role_term",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("community.id"), nullable=False, index=True),
    Column("membership_id", Integer, ForeignKey("membership.id"), nullable=False),
    Column("started_on", Date, nullable=False),
    Column("ended_on", Date),
    # Sessions held when the term began: rotation is due after rotate_every_sessions more.
    Column("sessions_at_start", Integer, nullable=False, default=0),
)

# What changed, who did it, when, why, before and after, and the flow run.
audit_entry = Table(
    "audit_entry",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("community.id"), index=True),
    Column("recorded_at", DateTime, nullable=False),
    Column("on_date", Date, nullable=False),
    Column("actor", String(320), nullable=False),
    Column("action", String(60), nullable=False),
    Column("why", Text),
    Column("before", JSON),
    Column("after", JSON),
    Column("flow_run_id", String(64)),
    # Who typed the command or started the run (an OS user, 'schedule'); None: the Prefect API.
    Column("operator", String(64)),
    # Where the actor acted: "web" for the web app; None for the command line and schedules.
    Column("channel", String(20)),
)

# Every email is a row here first; a transport delivers it exactly once.
# Free text a person typed for a flow run (a close reason, topics, stories): kept here, and the run
# is given its id, so Prefect's stores (parameters, events, results) never hold words that may
# name people or carry their contact details. Erasure reaches it like every other table.
flow_text = Table(
    "flow_text",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("community.id"), index=True),
    Column("fields", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

outbox_message = Table(
    "outbox_message",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("community_id", Integer, ForeignKey("community.id"), index=True),
    Column("template", String(60), nullable=False),
    Column("to_name", String(200), nullable=False),
    Column("to_email", String(320), nullable=False),
    # Where a reply goes: the convenor or the planning lead (none: replies go to the sender).
    Column("reply_to_name", String(200)),
    Column("reply_to_email", String(320)),
    Column("subject", String(300), nullable=False),
    Column("text_body", Text, nullable=False),
    Column("html_body", Text, nullable=False),
    Column("calendar", Text),
    Column("status", String(10), nullable=False, default="pending", index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("queued_on", Date, nullable=False),
    Column("queued_at", DateTime, nullable=False),
    Column("claimed_at", DateTime),
    # Backoff: a transient failure is not retried before this time.
    Column("next_attempt_at", DateTime),
    Column("sent_at", DateTime),
    Column("transport", String(20)),
    Column("transport_ref", String(300)),
    # Times an operator queued it again (copflow outbox resend): it may have gone before.
    Column("resends", Integer, nullable=False, default=0, server_default="0"),
)

# One report for one period of one CoP; sent once to each sponsor.
sponsor_report = Table(
    "sponsor_report",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("community.id"), nullable=False, index=True),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("final", Boolean, nullable=False, default=False),
    Column("figures", JSON, nullable=False),
    Column("created_on", Date, nullable=False),
    Column("flow_run_id", String(64)),
    UniqueConstraint("community_id", "period_start", "final"),
)

health_record = Table(
    "health_record",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", Integer, ForeignKey("community.id"), nullable=False),
    Column("on_date", Date, nullable=False),
    Column("figures", JSON, nullable=False),
    Column("signals", JSON, nullable=False),
    Column("flow_run_id", String(64)),
    Index("ix_health_community_date", "community_id", "on_date"),
)

# The web app keeps no state of its own: one-time sign-in links and used action links live
# here, so several replicas share them. Only hashes of tokens, addresses and client addresses.
web_token = Table(
    "web_token",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("purpose", String(20), nullable=False),  # sign-in, or action (a used email link)
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("person_id", Integer, ForeignKey("person.id")),  # None: an address nobody has
    Column("address_hash", String(64)),
    Column("client_hash", String(64)),
    Column("next_path", String(300)),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("used_at", DateTime),
    Index("ix_web_token_address", "address_hash", "created_at"),
    Index("ix_web_token_client", "client_hash", "created_at"),
)

# A signed-in browser: the cookie holds a random id whose hash is here; signing out ends it.
web_session = Table(
    "web_session",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_hash", String(64), nullable=False, unique=True),
    Column("person_id", Integer, ForeignKey("person.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
)
