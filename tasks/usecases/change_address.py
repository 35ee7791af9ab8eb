"""A person changes the email address copflow writes to (their own, or a decider's record)."""

from __future__ import annotations

from datetime import date

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.charter import Email
from models.db.tables import Community, Membership, Person
from models.errors import BadInput, Refused
from tasks.storage import audit
from tasks.storage.queries import person_by_email


def checked_address(value: str) -> str:
    try:
        return TypeAdapter(Email).validate_python(value.strip())
    except ValidationError:
        raise BadInput(f"'{value}' is not an email address") from None


def change_address(db: Session, email: str, new_email: str, *, actor: str, today: date) -> Person:
    """Move a person to a new address. Only the person themselves may (the web app, signed in as
    them); the audit of each CoP they are in records the change, with the actor who made it."""
    person = person_by_email(db, email)
    if person is None:
        raise BadInput(f"{email} is not known to copflow")
    if actor != person.email:
        raise Refused(f"{actor} may not change another person's address")
    new = checked_address(new_email)
    if new == person.email:
        raise BadInput(f"{new} is already the address copflow uses")
    if person_by_email(db, new) is not None:
        raise Refused(f"{new} belongs to someone else in copflow")
    old = person.email
    person.email = new
    communities = db.scalars(select(Community).join(Membership)
                             .where(Membership.person_id == person.id, Membership.left_on.is_(None)))
    for community in communities:
        audit.record(db, community, actor=old or new, action="member.address-changed", on_date=today,
                     before={"member": old}, after={"member": new})
    db.flush()
    return person
