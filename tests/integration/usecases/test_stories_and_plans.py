"""Stories, guests and planned sessions through the use cases on a real database: the migration
that moved single stories into their own table, the consent record fidelity reads, and plans."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from models.db.tables import Community
from models.errors import Refused
from models.stories import Consent
from tests.support.lifecycle import CONVENOR, active, create, in_db, outbox

LEE, SAM = "lee@example.org", "sam@example.nhs.uk"


def test_the_migration_moves_each_single_story_into_the_story_table(home: Path) -> None:
    """A database at 0001 with stories in cop_session.story, upgraded: each becomes a private
    story of its session (nobody was asked to share it), and the column goes."""
    from alembic import command
    from alembic.config import Config

    from tasks.storage.db import MIGRATIONS, engine

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine()
    command.downgrade(cfg, "0001")
    with engine().begin() as db:
        db.execute(sa.text("INSERT INTO community (id, slug, name, sponsor_reports, rotate_every_sessions, "
                           "session_minutes, format, stage, created_on, work_done, version) VALUES "
                           "(1, 'old', 'Old CoP', 'quarterly', 3, 90, 'online', 'active', '2027-01-01', "
                           ":no, 1)"), {"no": False})
        db.execute(sa.text("INSERT INTO cop_session (id, community_id, held_on, format, topics, methods, "
                           "outputs, story, recorded_on) VALUES (1, 1, '2027-01-14', 'online', '[]', '[]', "
                           "'[]', 'We visit in pairs', '2027-01-15'), (2, 1, '2027-02-11', 'online', '[]', "
                           "'[]', '[]', NULL, '2027-02-11')"))
    command.upgrade(cfg, "head")
    with engine().connect() as db:
        rows = db.execute(sa.text("SELECT community_id, session_id, told_on, text, consent, recorded_on, "
                                  "teller_id FROM story")).all()
        columns = {c["name"] for c in sa.inspect(db).get_columns("cop_session")}
        guests = db.scalar(sa.text("SELECT guests FROM cop_session WHERE id = 2"))
    assert [(r.community_id, r.session_id, str(r.told_on), r.text, r.consent, str(r.recorded_on), r.teller_id)
            for r in rows] == [(1, 1, "2027-01-14", "We visit in pairs", "private", "2027-01-15", None)]
    assert "story" not in columns and guests == 0


def test_story_consents_say_where_each_story_went_and_whether_consent_was_kept(home: Path) -> None:
    from sqlalchemy import select

    from models.db.tables import SponsorReport
    from tasks.usecases.sessions import record_session
    from tasks.usecases.sponsor_reports import queue_due_reports
    from tasks.usecases.stories import story_consents

    active(create())
    in_db(record_session, "aaot", held_on=date(2027, 2, 11), attended=[LEE], format=None, topics=[],
          stories=["Lee Hart rang us", "Kept to ourselves"], consent=Consent.anonymous, actor=CONVENOR,
          today=date(2027, 2, 11))
    in_db(record_session, "aaot", held_on=date(2027, 3, 11), attended=[LEE], format=None, topics=[],
          stories=["Private words"], actor=CONVENOR, today=date(2027, 3, 11))

    def queue(db: object) -> list[str]:
        community = db.scalars(select(Community)).one()  # type: ignore[attr-defined]
        return queue_due_reports(db, community, today=date(2027, 4, 1), flow_run_id=None)  # type: ignore[arg-type]

    in_db(queue)

    def tamper(db: object) -> None:
        """A report stored before consent existed: a story with no id or consent."""
        row = db.scalars(select(SponsorReport)).one()  # type: ignore[attr-defined]
        row.figures = {**row.figures, "stories": [*row.figures["stories"], {"held_on": "2027-02-11",
                                                                            "text": "Lee's relapse"}]}

    records = in_db(lambda db: story_consents(db, db.scalars(select(Community)).one()))
    assert [(r.story_id, r.consent, r.shared_in, r.kept) for r in records] == [
        (1, "anonymous", "sponsor report: January to March 2027", True),
        (2, "anonymous", "sponsor report: January to March 2027", True)]
    in_db(tamper)
    records = in_db(lambda db: story_consents(db, db.scalars(select(Community)).one()))
    assert (records[-1].story_id, records[-1].consent, records[-1].kept) == (None, None, False)
    body = outbox("sponsor-report")[0].text_body
    assert "[name withheld] rang us" in body and "Private words" not in body


def test_plans_need_a_decider_and_a_session_still_to_come(home: Path) -> None:
    from tasks.usecases.planning_sessions import plan_session

    active(create())
    with pytest.raises(Refused):
        in_db(plan_session, "aaot", starts_at=datetime(2027, 2, 11, 14), actor=LEE, today=date(2027, 1, 20))
    outcome = in_db(plan_session, "aaot", starts_at=datetime(2027, 2, 11, 14), actor=SAM, today=date(2027, 1, 20))
    assert len(outcome.queued) == 4
    by_whom = {r.to_email: r for r in outbox("session-invitation")}
    member, convenor = by_whom[LEE].text_body, by_whom[CONVENOR].text_body
    assert "The next session of Alcohol Assertive Outreach Community of Practice is on 11 February 2027" in member
    assert "Coming is entirely voluntary" in member and "copflow " not in member  # no command line
    assert "a session you help to run" in convenor and "entirely voluntary" not in convenor
    lead = next(r.text_body for r in by_whom.values() if "You are leading planning" in r.text_body)
    assert "is leading planning" not in lead  # nobody is pointed at themselves
    # Only the agenda changes: a new version of the same entry, which does not say it moved.
    in_db(plan_session, "aaot", starts_at=datetime(2027, 2, 11, 14), agenda=["Home visits"], actor=SAM,
          today=date(2027, 1, 21))
    again = outbox("session-invitation")[4:]
    assert len(again) == 4 and all("SEQUENCE:1" in (r.calendar or "") and "moved" not in r.subject for r in again)


def test_a_charter_first_session_moved_before_it_is_held_updates_the_launch_invite(home: Path) -> None:
    from tasks.email.calendar import first_session_uid
    from tasks.usecases.launch import launch
    from tasks.usecases.planning_sessions import plan_session

    slug = create()
    in_db(launch, slug, actor=CONVENOR, today=date(2027, 1, 4), flow_run_id=None)
    in_db(plan_session, slug, starts_at=datetime(2027, 1, 21, 14), actor=CONVENOR, today=date(2027, 1, 5))
    row = outbox("session-invitation")[0]
    assert first_session_uid(slug) in (row.calendar or "") and "SEQUENCE:1" in (row.calendar or "")
    assert "has moved to 21 January 2027" in row.subject and "updates the entry you already have" in row.text_body
