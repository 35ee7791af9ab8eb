"""Fidelity's story-consent criterion on real rows: the stories each stored sponsor report carried,
judged against the consent recorded in the story table (not the report's dates)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from models.db.tables import Community, SponsorReport, Story
from models.stories import Consent
from tasks.storage.db import read_scope
from tasks.usecases.fidelity import fidelity_of
from tasks.usecases.sponsor_reports import queue_due_reports
from tests.support.lifecycle import MEMBER, active, create, hold_session, in_db

NAMED = "Lee Hart's team now visits on the day of referral."
ANONYMOUS = "Lee said a familiar face at the door is what helped him open it."
PRIVATE = "What was said in the room about the ward stays in the room."


def consent(day: date) -> dict[str, Any]:
    with read_scope() as db:
        view = fidelity_of(db, "aaot", day)[0]
    return next(c for c in view["criteria"] if c["criterion"] == "story-consent")


def a_quarter_with_a_story_of_each_consent() -> None:
    active(create())
    hold_session("aaot", date(2027, 2, 11), stories=[NAMED], consent=Consent.named, teller=MEMBER)
    hold_session("aaot", date(2027, 3, 11), stories=[ANONYMOUS], consent=Consent.anonymous)
    hold_session("aaot", date(2027, 3, 25), stories=[PRIVATE])  # no word from the teller: private

    def report(db: Any) -> None:
        queue_due_reports(db, db.scalars(select(Community)).one(), today=date(2027, 4, 1), flow_run_id=None)

    in_db(report)


def test_the_stories_a_report_carried_are_judged_against_their_recorded_consent(home: Path) -> None:
    a_quarter_with_a_story_of_each_consent()
    # Before the report was stored, nothing had left the CoP, whatever the period's dates.
    before = consent(date(2027, 3, 31))
    assert before["verdict"] == "met" and before["evidence"] == ["3 stories recorded; none has left the CoP."]
    after = consent(date(2027, 4, 2))
    assert after["verdict"] == "met"
    assert after["facts"] == [{"says": "consent-kept", "stories": 3, "shared": 2, "places": ["sponsor-report"],
                               "named": 1, "anonymous": 1, "stayed": 1}]
    assert after["evidence"] == [
        "Each of the 2 stories shared in sponsor reports went as its teller's consent allows (1 named, with "
        "consent to name; 1 anonymous, with no name left in it); 1 story stayed in the CoP."]


def test_a_report_that_carried_a_story_against_its_consent_is_named_with_the_story(home: Path) -> None:
    a_quarter_with_a_story_of_each_consent()

    def as_an_older_copflow_might_have_sent_it(db: Any) -> None:
        """The stored report carries the private story and the anonymous one with its name left in."""
        ids = {s.text: s.id for s in db.scalars(select(Story))}
        row = db.scalars(select(SponsorReport)).one()
        stories = [s for s in row.figures["stories"] if s["story_id"] != ids[ANONYMOUS]]
        row.figures = {**row.figures, "stories": [
            *stories, {"held_on": "2027-03-11", "text": ANONYMOUS, "story_id": ids[ANONYMOUS], "consent": "anonymous"},
            {"held_on": "2027-03-25", "text": PRIVATE, "story_id": ids[PRIVATE], "consent": "private"}]}

    in_db(as_an_older_copflow_might_have_sent_it)
    found = consent(date(2027, 4, 2))
    assert found["verdict"] == "not met"
    assert found["evidence"] == [
        "Story #2 was shared in the sponsor report for January to March 2027 with names in it, though its "
        "teller agreed to share it only without names.",
        "Story #3 was shared in the sponsor report for January to March 2027, though its teller kept it private."]
