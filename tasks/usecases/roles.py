"""Roles and people changing hands: the convenor role passed on, a member's new address."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from models.db.tables import AuditEntry, Membership, OutboxMessage, Person
from models.errors import BadInput
from models.roles import require_new_address, require_new_convenor
from tasks.storage import audit
from tasks.storage.queries import (
    convenor_of,
    membership_of,
    person_by_email,
    require_member,
    sponsorship_of,
)
from tasks.usecases.acting import acting_decider


def hand_convenor(db: Session, slug: str, email: str, *, actor: str | None, today: date) -> Membership:
    """The convenor role passes to a planning-group member (models.roles.require_new_convenor).
    The former convenor stays on the planning group, and may now leave like anyone else."""
    community, who = acting_decider(db, slug, actor)
    target = membership_of(db, community, email)
    require_new_convenor(
        email=email, slug=slug, current=target is not None and target.left_on is None,
        planning_group=bool(target and target.planning_group), is_convenor=bool(target and target.is_convenor),
        is_sponsor=sponsorship_of(db, community, email) is not None)
    assert target is not None
    former = convenor_of(db, community)
    if former is not None:
        former.is_convenor, former.planning_group, former.convened_until = False, True, today
    target.is_convenor, target.planning_group, target.convened_until = True, True, None
    target.volunteered = False  # as convenor they lead planning only when no one else can
    # Bump the CoP's version: a form drawn before this hand-over is out of date (web app).
    flag_modified(community, "stage")
    db.flush()
    audit.record(db, community, actor=who, action="convenor.handed-over", on_date=today,
                 why="the convenor role passed to a planning-group member",
                 before={"convenor": former.person.name if former else None},
                 after={"convenor": target.person.name, "former_convenor_stays_on": "planning group"})
    return target


ADDRESS_CHANGED = "[earlier address of person #{id}]"


def change_email(db: Session, slug: str, old: str, new: str, *, actor: str | None, today: date) -> Person:
    """One person, a new address: their memberships, attendance, terms and tasks stay theirs.

    The old address leaves every copy copflow keeps at once (audit entries, outbox rows), so
    nothing outlives erasure that erasure could not find: erasure looks for the current address.
    Outbox keys follow the person to the new address (a re-run does not write to them twice);
    unsent messages go to the new address.
    """
    community, who = acting_decider(
        db, slug, actor, for_self=lambda cop: require_member(db, cop, old).person.email)
    person = require_member(db, community, old).person
    owner = person_by_email(db, new)
    elsewhere = owner is not None and owner.id != person.id
    here = elsewhere and (membership_of(db, community, new) is not None
                          or sponsorship_of(db, community, new) is not None)
    require_new_address(str(person.email), new, slug, owner_of_new_here=here,
                        owner_of_new_elsewhere=elsewhere)
    earlier = str(person.email)
    person.email = new
    db.flush()
    _replace_address(db, earlier, new, ADDRESS_CHANGED.format(id=person.id))
    audit.record(db, community, actor=new if who == earlier else who, action="member.email-changed",
                 on_date=today, why="a new address for the same person",
                 before={"member": person.name, "address": "earlier address"},
                 after={"member": person.name, "address": new})
    return person


def _whole(old: str) -> re.Pattern[str]:
    """The address as a whole word: never the tail of a longer one (sam@x beside am@x)."""
    return re.compile(rf"(?<![\w.+-]){re.escape(old)}(?![\w.-])")


def _swap(value: Any, old: str, new: str) -> Any:
    if value is None:
        return None
    return json.loads(_whole(old).sub(new, json.dumps(value, ensure_ascii=False)))


def _replace_address(db: Session, old: str, new: str, marker: str) -> None:
    """Take `old` out of the audit trail and the outbox (whole addresses only: JSON, text, keys)."""
    forms = {old, json.dumps(old)[1:-1]}
    quoting = or_(AuditEntry.actor == old, AuditEntry.why.contains(old),
                  *(cast(column, String).contains(form) for column in (AuditEntry.before, AuditEntry.after)
                    for form in forms))
    for entry in db.scalars(select(AuditEntry).where(quoting)):
        entry.actor = marker if entry.actor == old else entry.actor
        entry.before, entry.after = _swap(entry.before, old, marker), _swap(entry.after, old, marker)
        entry.why = _whole(old).sub(marker, entry.why) if entry.why else entry.why
    for row in db.scalars(select(OutboxMessage).where(or_(
            OutboxMessage.to_email == old, OutboxMessage.key.contains(old),
            OutboxMessage.text_body.contains(old), OutboxMessage.html_body.contains(old)))):
        unsent = row.status in ("pending", "failed")
        row.to_email = (new if unsent else marker) if row.to_email == old else row.to_email
        whole = _whole(old)
        row.key = whole.sub(new, row.key)
        row.text_body, row.html_body = whole.sub(marker, row.text_body), whole.sub(marker, row.html_body)


def require_address(value: str, option: str) -> str:
    """An address given on the command line, checked with the charter's own rules."""
    from pydantic import TypeAdapter, ValidationError

    from models.charter import Email

    try:
        return TypeAdapter(Email).validate_python(value)
    except ValidationError:
        raise BadInput(f"{option}: '{value}' is not an email address") from None
