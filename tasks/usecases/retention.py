"""Data protection: once a CoP has been archived for the retention period (COPFLOW_RETENTION_DAYS,
default 90), the contact details of its people who belong to no other live CoP are erased.

Erased: the person's email address (Person.email set to NULL, erased_on recorded), and that
address from every copy copflow keeps (tasks/usecases/erasing.py walks them): every text and
JSON column of every table, the outbox folder's email files, the archive bundles. Once a CoP's
period has ended, its own free text (reasons, stories, topics, outputs, task titles and notes,
the emails it sent) also loses every other address but those of people still in a live CoP,
and every phone number. Kept: names, for the record of what the CoP did. One audit entry per
CoP says how many were erased (never who by address); it also marks the CoP's free text done.
Runs from the archive flow's scheduled run (`copflow archive --all`, daily in deployments).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db.tables import (
    AuditEntry,
    Community,
    Membership,
    Person,
    Sponsorship,
)
from models.lifecycle import Stage
from models.stages import erasure_due
from tasks.storage import audit
from tasks.storage.settings import get_settings
from tasks.usecases import erasing
from tasks.usecases.common import SCHEDULE


def _links(db: Session) -> dict[int, set[int]]:
    """Person id -> the ids of every CoP they are or were part of (members and sponsors)."""
    links: dict[int, set[int]] = {}
    for person_id, community_id in db.execute(
            select(Membership.person_id, Membership.community_id)
            .union_all(select(Sponsorship.person_id, Sponsorship.community_id))):
        links.setdefault(person_id, set()).add(community_id)
    return links


def erase_expired_contacts(db: Session, *, today: date, retention_days: int,
                           flow_run_id: str | None = None, outbox: Path | None = None) -> dict[str, int]:
    """Erase what the retention setting says is due; returns slug -> people erased, for each
    CoP with people newly erased or whose period has newly ended."""
    communities = {c.id: c for c in db.scalars(select(Community))}

    def expired(community_id: int) -> bool:
        c = communities[community_id]
        return erasure_due(Stage(c.stage), c.archived_on, today, retention_days)

    done = set(db.scalars(select(AuditEntry.community_id).where(AuditEntry.action == "contacts.erased")))
    newly = {i for i in communities if i not in done and expired(i)}
    people: dict[str, int] = {}
    erased: dict[int, int] = dict.fromkeys(newly, 0)
    for person_id, ids in _links(db).items():
        if not all(expired(i) for i in ids):
            continue  # still part of a live CoP (or one archived too recently)
        person = db.get(Person, person_id)
        if person is None or person.email is None:
            continue
        people[person.email.strip().lower()] = person.id
        person.email, person.erased_on = None, today
        for community_id in ids:
            erased[community_id] = erased.get(community_id, 0) + 1
    if not erased:
        return {}
    db.flush()
    _erase_copies(db, people, set(erased), newly, outbox or get_settings().outbox_dir)
    for community_id, count in sorted(erased.items()):
        community = communities[community_id]
        audit.record(db, community, actor=SCHEDULE, action="contacts.erased", on_date=today,
                     why=f"{retention_days} days after the archive, contact details of people in "
                         "no live CoP are erased",
                     after={"people": count, "archived_on": str(community.archived_on)},
                     flow_run_id=flow_run_id)
    return {communities[i].slug: n for i, n in erased.items()}


def _erase_copies(db: Session, people: dict[str, int], touched: set[int], newly: set[int],
                  outbox: Path) -> None:
    """Files first (their paths are in rows about to be scrubbed), then every table."""
    erasing.fail_unsent(db, people)
    erasing.erase_outbox_files(db, outbox, touched, people)
    erasing.rescrub_bundles(db, touched)
    erasing.erase_everywhere(db, people, touched)
    if newly:
        live = frozenset((e or "").strip().lower() for e in db.scalars(
            select(Person.email).where(Person.email.is_not(None))))
        erasing.scrub_free_text_of(db, newly, live)
    db.expire_all()  # rows were rewritten underneath the loaded objects


def erase_person_now(db: Session, person: Person, today: date) -> None:
    """Erase one person's address at once: they were taken off a draft and are part of no CoP,
    so no retention period would ever reach them."""
    if person.email is None:
        return
    people = {person.email.strip().lower(): person.id}
    person.email, person.erased_on = None, today
    db.flush()
    erasing.fail_unsent(db, people)
    erasing.erase_everywhere(db, people, set())
    db.expire_all()  # rows were rewritten underneath the loaded objects
