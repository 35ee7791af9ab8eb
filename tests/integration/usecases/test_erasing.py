"""Retention's walk of the stores (tasks/usecases/erasing.py) on the real database and folders:
what it must not do as much as what it does."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from models.db.schema import metadata
from models.db.tables import CopSession, OutboxMessage, Story
from tasks.email.delivery import deliver_pending
from tasks.usecases.archive import archive
from tasks.usecases.erasing import FILE_ERASED, NOT_SENT, text_columns
from tasks.usecases.retention import erase_expired_contacts
from tests.support.lifecycle import DAY0, closing, create, in_db, outbox

ARCHIVED = DAY0 + timedelta(days=34)
LATER = ARCHIVED + timedelta(days=90)


def _archived() -> None:
    closing(create())
    in_db(archive, "aaot", actor=None, now=False, today=ARCHIVED, flow_run_id=None, scheduled=True)


def test_every_text_and_json_column_of_every_table_is_walked() -> None:
    walked = {f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in text_columns(t)}
    assert {"outbox_message.calendar", "outbox_message.last_error", "outbox_message.transport_ref",
            "sponsor_report.figures", "cop_session.topics", "planning_task.notes",
            "community.close_reason", "audit_entry.before", "sponsor.organisation"} <= walked


def test_an_email_not_yet_sent_to_an_erased_person_is_failed_and_never_sent(home: Path) -> None:
    _archived()  # the final sponsor report is queued, not delivered
    assert [m.status for m in outbox("final-sponsor-report")] == ["pending"]
    in_db(erase_expired_contacts, today=LATER, retention_days=90)
    deliver_pending(None)
    row = outbox("final-sponsor-report")[0]
    assert (row.status, row.last_error, row.to_email) == ("failed", NOT_SENT, "[address erased]")
    assert row.transport_ref is None and not list((home / "outbox").glob("final-report*"))


def test_only_files_in_the_outbox_folder_are_deleted_and_links_are_not_followed(home: Path) -> None:
    _archived()
    deliver_pending(None)
    elsewhere = home / "not-the-outbox.eml"
    elsewhere.write_text("To: lee@example.org\n\nkeep me\n")
    target = home / "target.txt"
    target.write_text("lee@example.org\n")
    (home / "outbox" / "planted.eml").symlink_to(target)

    def point_a_row_elsewhere(db: object) -> None:
        row = db.scalars(select(OutboxMessage).where(OutboxMessage.transport == "file")).first()  # type: ignore[attr-defined]
        row.transport_ref = str(elsewhere)
    in_db(point_a_row_elsewhere)
    in_db(erase_expired_contacts, today=LATER, retention_days=90)
    assert elsewhere.read_text().endswith("keep me\n") and target.read_text() == "lee@example.org\n"
    assert sorted(os.listdir(home / "outbox")) == ["planted.eml"]  # a link: never read, left alone
    assert {m.transport_ref for m in outbox() if m.transport == "file"} == {FILE_ERASED}


def test_a_second_run_rewrites_nothing(home: Path) -> None:
    _archived()
    deliver_pending(None)
    assert in_db(erase_expired_contacts, today=LATER, retention_days=90)
    before = [(m.key, m.text_body, m.html_body, m.calendar, m.transport_ref) for m in outbox()]
    bundle = (home / "archives" / "aaot" / "community.json").read_bytes()
    assert in_db(erase_expired_contacts, today=LATER + timedelta(days=1), retention_days=90) == {}
    assert [(m.key, m.text_body, m.html_body, m.calendar, m.transport_ref) for m in outbox()] == before
    assert (home / "archives" / "aaot" / "community.json").read_bytes() == bundle


@pytest.mark.parametrize("many", [False, True], ids=["filtered-in-sql", "every-row-read"])
def test_an_address_typed_into_another_cop_goes_either_way_it_is_read(
        home: Path, monkeypatch: pytest.MonkeyPatch, many: bool) -> None:
    import tasks.usecases.erasing as erasing
    from tasks.usecases.sessions import record_session
    from tests.drills import support as s

    if many:  # as when more people are erased at once than one filtered read takes
        monkeypatch.setattr(erasing, "ADDRESSES_PER_QUERY", 0)
    _archived()
    s.active_cop("live", convenor={"name": "Jo Lee", "email": "jolee@example.org"},
                 members=[{"name": "Rob Ince", "email": "rob@example.org"},
                          {"name": "Una Moss", "email": "una@example.org"},
                          {"name": "Kim Lowe", "email": "kim@example.org"}],
                 sponsors=[{"name": "Pat Page", "email": "pat@example.org"}])
    in_db(record_session, "live", held_on=LATER, attended=["jolee@example.org"], format=None,
          topics=["A case from LEE@EXAMPLE.ORG"], stories=["Lee (lee@example.org) and jolee@example.org"],
          actor="jolee@example.org", today=LATER)
    in_db(erase_expired_contacts, today=LATER, retention_days=90)
    stored = in_db(lambda db: db.execute(select(CopSession.topics, Story.text).join(Story)
                                         .where(CopSession.held_on == LATER)).one())
    assert tuple(stored) == (["A case from [address erased]"],
                             "Lee ([address erased]) and jolee@example.org")


def test_the_walk_builds_no_empty_or_for_a_table_without_text(home: Path) -> None:
    """A table with no text column (attendance) once gave SQLAlchemy an or_() of nothing,
    which it warns will become an error."""
    import warnings

    from sqlalchemy.exc import SADeprecationWarning

    from tasks.usecases.erasing import erase_everywhere

    _archived()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", SADeprecationWarning)
        changed = in_db(erase_everywhere, {"nobody@example.org": 0}, set())
    assert [str(w.message) for w in seen if issubclass(w.category, SADeprecationWarning)] == []
    assert changed == 0  # an address no one holds changes nothing
