"""Data protection: once a CoP has been archived for the retention period (COPFLOW_RETENTION_DAYS,
default 90), the contact details of its people who belong to no other live CoP are erased.

Erased: the person's email address (Person.email set to NULL, erased_on recorded); the address
wherever the live database still quotes it (audit entries, outbox rows). Kept: their name, for
the record of what the CoP did. A person still in (or sponsoring) any CoP that is not archived,
or archived too recently, keeps their details. One audit entry per CoP says how many were
erased (never who by address). The archive bundle never held contact details at all.
Runs from the archive flow's scheduled run (`copflow archive --all`, daily in deployments).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from models.db.tables import (
    AuditEntry,
    Community,
    Membership,
    OutboxMessage,
    Person,
    Sponsorship,
)
from models.lifecycle import Stage
from models.stages import erasure_due
from tasks.storage import audit
from tasks.usecases.common import SCHEDULE

ERASED = "[address erased]"


def _links(db: Session) -> dict[int, set[int]]:
    """Person id -> the ids of every CoP they are or were part of (members and sponsors)."""
    links: dict[int, set[int]] = {}
    for person_id, community_id in db.execute(
            select(Membership.person_id, Membership.community_id)
            .union_all(select(Sponsorship.person_id, Sponsorship.community_id))):
        links.setdefault(person_id, set()).add(community_id)
    return links


def _scrub(value: Any, address: str) -> Any:
    """The same JSON value with the address replaced wherever it appears."""
    if value is None:
        return None
    return json.loads(json.dumps(value, ensure_ascii=False).replace(address, ERASED))


def _erase_address(db: Session, person: Person, address: str) -> None:
    """Take the address out of what the live database still quotes it in."""
    # JSON columns may hold the address \u-escaped (non-ASCII addresses): look for both forms.
    forms = {address, json.dumps(address)[1:-1]}
    quoting = or_(AuditEntry.actor == address, AuditEntry.why.contains(address),
                  *(cast(column, String).contains(form) for column in (AuditEntry.before, AuditEntry.after)
                    for form in forms))
    for entry in db.scalars(select(AuditEntry).where(quoting)):
        entry.actor = f"erased person #{person.id}" if entry.actor == address else entry.actor
        entry.before, entry.after = _scrub(entry.before, address), _scrub(entry.after, address)
        entry.why = entry.why.replace(address, ERASED) if entry.why else entry.why
    for row in db.scalars(select(OutboxMessage).where(or_(
            OutboxMessage.to_email == address, OutboxMessage.text_body.contains(address),
            OutboxMessage.html_body.contains(address)))):
        if row.status in ("pending", "sending"):
            row.status, row.last_error = "failed", "not sent: contact details erased"
        row.to_email = ERASED if row.to_email == address else row.to_email
        row.text_body = row.text_body.replace(address, ERASED)
        row.html_body = row.html_body.replace(address, ERASED)
        row.key = row.key.replace(address, f"erased-{person.id}")


def erase_expired_contacts(db: Session, *, today: date, retention_days: int,
                           flow_run_id: str | None = None) -> dict[str, int]:
    """Erase what the retention setting says is due; returns slug -> people erased (new only)."""
    communities = {c.id: c for c in db.scalars(select(Community))}

    def expired(community_id: int) -> bool:
        c = communities[community_id]
        return erasure_due(Stage(c.stage), c.archived_on, today, retention_days)

    erased: dict[int, int] = {}
    for person_id, ids in _links(db).items():
        if not all(expired(i) for i in ids):
            continue  # still part of a live CoP (or one archived too recently)
        person = db.get(Person, person_id)
        if person is None or person.email is None:
            continue
        address = person.email
        person.email, person.erased_on = None, today
        db.flush()
        _erase_address(db, person, address)
        for community_id in ids:
            erased[community_id] = erased.get(community_id, 0) + 1
    for community_id, count in sorted(erased.items()):
        community = communities[community_id]
        audit.record(db, community, actor=SCHEDULE, action="contacts.erased", on_date=today,
                     why=f"{retention_days} days after the archive, contact details of people in "
                         "no live CoP are erased",
                     after={"people": count, "archived_on": str(community.archived_on)},
                     flow_run_id=flow_run_id)
    return {communities[i].slug: n for i, n in erased.items()}


def erase_person_now(db: Session, person: Person, today: date) -> None:
    """Erase one person's address at once: they were taken off a draft and are part of no CoP,
    so no retention period would ever reach them."""
    if person.email is None:
        return
    address = person.email
    person.email, person.erased_on = None, today
    db.flush()
    _erase_address(db, person, address)
