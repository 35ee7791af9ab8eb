"""A member stops (or restarts) a CoP's non-essential emails (tasks/email/member_mail.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from models.db.tables import Membership
from tasks.storage import audit
from tasks.storage.queries import require_member
from tasks.usecases.acting import acting_decider


def set_emails_stopped(db: Session, slug: str, email: str, *, stopped: bool, actor: str | None,
                       today: date) -> Membership:
    # A member may do this for themselves; anyone else needs a decider.
    community, who = acting_decider(
        db, slug, actor, for_self=lambda cop: require_member(db, cop, email).person.email)
    membership = require_member(db, community, email)
    before = membership.emails_stopped
    membership.emails_stopped = stopped
    if before != stopped:
        audit.record(db, community, actor=who,
                     action="member.emails-stopped" if stopped else "member.emails-restarted",
                     on_date=today, before={"member": membership.person.email, "emails_stopped": before},
                     after={"member": membership.person.email, "emails_stopped": stopped})
    return membership
