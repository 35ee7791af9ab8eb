"""Drill 6: data protection. After a CoP is archived and the retention period (setting
COPFLOW_RETENTION_DAYS, default 90) has passed, the contact details of its people who belong to
no other live CoP are erased from the live database, with an audit entry; the archive bundle
never holds them."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from models.db.tables import AuditEntry, OutboxMessage, Person
from models.stories import Consent
from tests.drills import support as s

ARCHIVED = date(2027, 5, 18)
SHARED = {s.PLANNER, s.SPONSORS[0]}  # Sam is in the live CoP too; Priya sponsors it
LEAVING = {s.CONVENOR, "lee@example.org", "ana@example.ac.uk", "jo@example.nhs.uk", s.SPONSORS[1]}


def _two_cops() -> None:
    from tasks.storage.db import session_scope
    from tasks.usecases.archive import archive
    from tasks.usecases.sessions import record_session

    s.closing_cop("aaot")
    with session_scope() as db:  # a story someone typed an address and a number into
        record_session(db, "aaot", held_on=date(2027, 5, 5), attended=[s.PLANNER], format=None,
                       topics=["Wrap-up"], stories=["Ask jo@example.nhs.uk or ring 07700 900123"],
                       consent=Consent.named,
                       actor=s.CONVENOR, today=date(2027, 5, 5))
    s.active_cop("live", convenor={"name": "Kim Lowe", "email": "kim@example.nhs.uk"},
                 members=[{"name": "Sam Okafor", "email": s.PLANNER, "planning_group": True},
                          {"name": "Rob Ince", "email": "rob@example.org"},
                          {"name": "Una Moss", "email": "una@example.org"}],
                 sponsors=[{"name": "Priya Raman", "email": s.SPONSORS[0]}])
    with session_scope() as db:
        archive(db, "aaot", actor=s.CONVENOR, now=False, today=ARCHIVED, flow_run_id=None)
    s.deliver_everything()


def _addresses() -> dict[str, str | None]:
    return s.read(lambda db: {p.name: p.email for p in db.scalars(select(Person))})


def _text_of_live_database() -> str:
    def q(db: object) -> str:
        parts = [f"{e.actor} {e.why} {e.before} {e.after}" for e in db.scalars(select(AuditEntry))]  # type: ignore[attr-defined]
        parts += [f"{m.key} {m.to_email} {m.text_body} {m.html_body}"
                  for m in db.scalars(select(OutboxMessage))]  # type: ignore[attr-defined]
        return "\n".join(parts)
    return s.read(q)


def _erase(on: date, days: int = 90) -> dict[str, int]:
    from tasks.storage.db import session_scope
    from tasks.usecases.retention import erase_expired_contacts

    with session_scope() as db:
        return erase_expired_contacts(db, today=on, retention_days=days)


def test_the_archive_never_holds_contact_details(home: Path) -> None:
    _two_cops()
    bundle = home / "archives" / "aaot"
    s.verify_bundle(bundle)
    text = "".join(p.read_text() for p in bundle.iterdir())
    assert "Dana Whitlow" in text and "Tom Ellis" in text  # people are named and credited
    for address in LEAVING | SHARED | {"kim@example.nhs.uk"}:
        assert address not in text
    assert "07700 900123" not in text and "@" not in text.replace("[address removed]", "")


def test_contacts_erased_after_the_retention_period_and_only_then(home: Path) -> None:
    _two_cops()
    assert _erase(ARCHIVED + timedelta(days=89)) == {}
    assert "contacts.erased" not in [e.action for e in s.stage_and_audit("aaot")[1]]
    assert all(set(_addresses().values()) >= LEAVING for _ in [0])

    erased = _erase(ARCHIVED + timedelta(days=90))
    assert erased == {"aaot": len(LEAVING)}
    left = {a for a in _addresses().values() if a}
    assert left.isdisjoint(LEAVING) and left >= SHARED  # Sam and Priya are still in a live CoP
    people = s.read(lambda db: {p.name: p.erased_on for p in db.scalars(select(Person))})
    assert people["Dana Whitlow"] == ARCHIVED + timedelta(days=90) and people["Sam Okafor"] is None
    text = _text_of_live_database()
    for address in LEAVING:
        assert address not in text, address
    assert s.PLANNER in text  # what belongs to a live CoP is untouched
    entries = [e for e in s.stage_and_audit("aaot")[1] if e.action == "contacts.erased"]
    assert len(entries) == 1 and entries[0].after["people"] == len(LEAVING)
    assert "@" not in f"{entries[0].after} {entries[0].why}"
    assert s.check_stage_matches_audit("aaot") == "archived"  # the record of its life stays whole
    # A second run erases nothing more and records nothing more.
    assert _erase(ARCHIVED + timedelta(days=91)) == {}
    assert [e.action for e in s.stage_and_audit("aaot")[1]].count("contacts.erased") == 1
    # The live CoP still reaches Sam and Priya.
    from tasks.storage.db import session_scope
    from tasks.storage.queries import get_community
    from tasks.usecases.sponsor_reports import queue_due_reports

    with session_scope() as db:
        keys = queue_due_reports(db, get_community(db, "live"), today=date(2027, 10, 2), flow_run_id=None)
    assert keys and all(s.SPONSORS[0] in k for k in keys)


@pytest.mark.flows
def test_the_archive_flows_daily_run_erases_per_the_setting(home: Path, cli: object,
                                                            prefect_harness: None,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.archive import archive
    from flows.requests import ArchiveRequest
    from tasks.storage.settings import get_settings

    _two_cops()
    monkeypatch.setenv("COPFLOW_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    early = archive(request=ArchiveRequest(today=ARCHIVED + timedelta(days=29)))
    assert early.communities == []
    result = archive(request=ArchiveRequest(today=ARCHIVED + timedelta(days=30)))
    assert [c.slug for c in result.communities] == ["aaot"]
    assert "contact details of 5 people erased" in result.communities[0].notes[0]
    shown = cli("community", "show", "aaot")  # type: ignore[operator]
    assert shown.returncode == 0 and "Dana Whitlow <contact details erased>" in shown.stdout
    assert "Sam Okafor <sam@example.nhs.uk>" in shown.stdout
