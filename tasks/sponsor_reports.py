"""Sponsor reports. Minimal stand-in for the email helper's module: only the final report.

Contract: queue_final_report(db, community, *, today, flow_run_id) -> list[str] queues one
plain email per sponsor (template "final-sponsor-report", key
f"final-report:{slug}:{sponsor_email}") and returns the keys newly queued; a repeat queues none.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from models.tables import Community
from tasks.closing import what_it_did
from tasks.community_store import current_members, sponsors_of
from tasks.outbox import Recipient, enqueue
from tasks.rendering import render_email


def queue_final_report(db: Session, community: Community, *, today: date,
                       flow_run_id: str | None) -> list[str]:
    work = what_it_did(db, community)
    members = len(current_members(db, community))
    queued = []
    for s in sponsors_of(db, community):
        if not s.person.email:
            continue
        key = f"final-report:{community.slug}:{s.person.email}"
        email = render_email("final-sponsor-report", community=community, recipient_name=s.person.name,
                             work=work, members=members, today=today)
        if enqueue(db, key=key, community=community, template="final-sponsor-report",
                   to=Recipient(name=s.person.name, email=s.person.email), email=email, today=today):
            queued.append(key)
    return queued
