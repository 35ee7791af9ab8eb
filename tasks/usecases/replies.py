"""Who a reply reaches: every email a person can answer has a Reply-To of a real person.

A member's reply goes to the convenor; the convenor's own emails reply to the planning lead.
Nobody is given their own address to write to (DESIGN section 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models.db.tables import Community, Membership, Person, RoleTerm
from tasks.email.outbox import Recipient


@dataclass(frozen=True)
class Replies:
    convenor: Recipient | None
    lead: Recipient | None

    def to(self, address: str | None) -> Recipient | None:
        """Who answers a message to this address: the convenor, else the planning lead."""
        mine = (address or "").lower()
        return next((r for r in (self.convenor, self.lead) if r is not None and r.email.lower() != mine),
                    None)


def _person(db: Session, query: Select[str, str | None]) -> Recipient | None:
    row = db.execute(query).first()
    return Recipient(name=row.name, email=row.email) if row is not None and row.email else None


def replies_of(db: Session, community: Community) -> Replies:
    """The CoP's convenor and current planning lead, as people one can write to (two queries)."""
    convenor = _person(db, select(Person.name, Person.email).join(Membership)
                       .where(Membership.community_id == community.id, Membership.is_convenor,
                              Membership.left_on.is_(None)).limit(1))
    lead = _person(db, select(Person.name, Person.email)
                   .join(Membership, Membership.person_id == Person.id)
                   .join(RoleTerm, RoleTerm.membership_id == Membership.id)
                   .where(RoleTerm.community_id == community.id, RoleTerm.ended_on.is_(None),
                          Membership.left_on.is_(None))
                   .order_by(RoleTerm.started_on.desc(), RoleTerm.id.desc()).limit(1))
    return Replies(convenor=convenor, lead=lead)


def replies_for(db: Session, community_ids: Sequence[int]) -> dict[int, Replies]:
    """replies_of for a page of CoPs, in two queries (each CoP's first row, as replies_of takes)."""
    ids = list(community_ids)
    convenors: dict[int, Recipient | None] = {}
    for cid, name, email in db.execute(
        select(Membership.community_id, Person.name, Person.email).join(Membership)
        .where(Membership.community_id.in_(ids), Membership.is_convenor, Membership.left_on.is_(None))
        .order_by(Membership.id)
    ):
        convenors.setdefault(cid, Recipient(name=name, email=email) if email else None)
    leads: dict[int, Recipient | None] = {}
    for cid, name, email in db.execute(
        select(RoleTerm.community_id, Person.name, Person.email)
        .join(Membership, Membership.person_id == Person.id)
        .join(RoleTerm, RoleTerm.membership_id == Membership.id)
        .where(RoleTerm.community_id.in_(ids), RoleTerm.ended_on.is_(None), Membership.left_on.is_(None))
        .order_by(RoleTerm.started_on.desc(), RoleTerm.id.desc())
    ):
        leads.setdefault(cid, Recipient(name=name, email=email) if email else None)
    return {cid: Replies(convenor=convenors.get(cid), lead=leads.get(cid)) for cid in ids}
