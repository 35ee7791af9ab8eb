"""Fix a draft: replace a proposed CoP's charter (same checks as create; the slug stays).

The new charter is the whole truth: fields are replaced; people listed keep their place (and
history), new ones join, and people no longer listed are taken off: a member is recorded as
having left (so the CoP's retention still covers them), a sponsor's place is removed, and a
person then part of no CoP at all has their address erased at once (nothing else ever would).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.charter import Charter
from models.db.tables import Community, Membership, Person, PlanningTask, Sponsorship
from models.lifecycle import Stage
from models.roles import kept_slug, require_convenor, require_draft
from tasks.charter_file import MAX_CHARTER_BYTES, load_charter, read_regular_file
from tasks.storage import audit
from tasks.storage.queries import person_by_email, sponsors_of
from tasks.usecases.acting import acting_decider, require_decider
from tasks.usecases.communities import find_or_add_person
from tasks.usecases.retention import erase_person_now

FIELDS = ("name", "domain", "practice", "cadence", "sponsor_reports", "rotate_every_sessions",
          "session_minutes", "format", "location")


def load_update(path: Path) -> tuple[Charter, str | None]:
    """The new charter, read and checked as create reads one, and the slug it writes (None when
    it writes none and the schema derived one from the name)."""
    charter = load_charter(path)
    text = read_regular_file(path, MAX_CHARTER_BYTES, "charter").decode("utf-8-sig")
    written = yaml.safe_load(text).get("slug")  # already checked: a plain mapping
    return charter, None if written is None else str(written)


def check_update(db: Session, slug: str, written_slug: str | None,
                 actor: str | None) -> tuple[Community, str]:
    community, who = acting_decider(db, slug, actor)
    require_convenor(require_decider(db, community, who), who, slug, f"replace the charter of {slug}")
    require_draft(Stage(community.stage), slug)
    kept_slug(slug, written_slug)
    return community, who


def stored_charter(db: Session, community: Community) -> dict[str, Any]:
    """The charter as the database holds it now (the audit entry's `before`)."""
    people = _memberships(db, community)
    convenor = next((m for m in people.values() if m.is_convenor and m.left_on is None), None)
    return {
        **{f: getattr(community, f) for f in FIELDS}, "slug": community.slug,
        "first_session": community.first_session.isoformat() if community.first_session else None,
        "convenor": {"name": convenor.person.name, "email": convenor.person.email} if convenor else None,
        "members": [{"name": m.person.name, "email": m.person.email, "kind": m.kind,
                     "planning_group": m.planning_group}
                    for m in people.values() if m.left_on is None and not m.is_convenor],
        "sponsors": [{"name": s.person.name, "email": s.person.email, "organisation": s.organisation}
                     for s in sponsors_of(db, community)],
    }


def update_community(db: Session, slug: str, charter: Charter, *, written_slug: str | None,
                     actor: str | None, today: date) -> Community:
    community, who = check_update(db, slug, written_slug, actor)
    before = stored_charter(db, community)
    for f in FIELDS:
        value = getattr(charter, f)
        setattr(community, f, getattr(value, "value", value))
    community.first_session = charter.first_session.replace(tzinfo=None) if charter.first_session else None
    _members(db, community, charter, today)
    removed = _sponsors(db, community, charter, today)
    db.flush()
    after = charter.model_dump(mode="json") | {"slug": slug}
    audit.record(db, community, actor=who, action="community.updated", on_date=today,
                 why="the charter was replaced while proposed",
                 before={"charter": before}, after={"charter": after})
    db.flush()
    for person in removed:
        erase_person_now(db, person, today)
    return community


def _memberships(db: Session, community: Community) -> dict[int, Membership]:
    """Every membership of the CoP, past and present, by person id."""
    return {m.person_id: m for m in db.scalars(
        select(Membership).where(Membership.community_id == community.id).order_by(Membership.id))}


def _person(db: Session, community: Community, name: str, email: str, field: str) -> Person:
    """As create finds people; a draft may also correct the name of someone only it lists."""
    person = person_by_email(db, email)
    if person is not None and _only_here(db, person, community):
        person.name = name
    return find_or_add_person(db, name, email, field)


def _only_here(db: Session, person: Person, community: Community) -> bool:
    ids = set(db.scalars(select(Membership.community_id).where(Membership.person_id == person.id)))
    ids |= set(db.scalars(select(Sponsorship.community_id).where(Sponsorship.person_id == person.id)))
    return ids <= {community.id}


def _members(db: Session, community: Community, charter: Charter, today: date) -> None:
    wanted: list[tuple[str, str, str, str | None, bool, bool]] = []
    if charter.convenor is not None:
        wanted.append(("convenor.name", charter.convenor.name, charter.convenor.email, None, True, True))
    wanted += [(f"members[{i}].name", m.name, m.email, m.kind.value, m.planning_group, False)
               for i, m in enumerate(charter.members)]
    existing = _memberships(db, community)
    kept: set[int] = set()
    for field, name, email, kind, planning_group, is_convenor in wanted:
        person = _person(db, community, name, email, field)
        membership = existing.get(person.id) or Membership(
            community_id=community.id, person_id=person.id, joined_on=today)
        membership.kind, membership.planning_group, membership.is_convenor = kind, planning_group, is_convenor
        membership.left_on = None
        db.add(membership)
        kept.add(person.id)
    db.flush()
    convenor = next((m for m in _memberships(db, community).values() if m.is_convenor), None)
    for person_id, membership in existing.items():
        if person_id in kept or membership.left_on is not None:
            continue
        membership.left_on, membership.is_convenor = today, False
        for task in db.scalars(select(PlanningTask).where(PlanningTask.owner_id == membership.id,
                                                          PlanningTask.status != "done")):
            if convenor is not None:  # a draft's tasks belong to its convenor
                task.owner_id = convenor.id


def _sponsors(db: Session, community: Community, charter: Charter, today: date) -> list[Person]:
    """Add and update the sponsors listed; remove the others. Returns the removed people who are
    now part of no CoP."""
    existing = {s.person_id: s for s in sponsors_of(db, community)}
    kept: set[int] = set()
    for i, sponsor in enumerate(charter.sponsors):
        person = _person(db, community, sponsor.name, sponsor.email, f"sponsors[{i}].name")
        row = existing.get(person.id) or Sponsorship(community_id=community.id, person_id=person.id,
                                                     added_on=today)
        row.organisation = sponsor.organisation
        db.add(row)
        kept.add(person.id)
    removed = [s for pid, s in existing.items() if pid not in kept]
    for row in removed:
        db.delete(row)
    db.flush()
    return [s.person for s in removed if _only_here(db, s.person, community)
            and not db.scalars(select(Membership.id).where(Membership.person_id == s.person_id)).first()]
