"""Queueing sponsor reports: once per period per sponsor; the final report once per sponsor."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from models.db.tables import Community, OutboxMessage, SponsorReport
from models.stories import Consent
from tasks.storage.db import session_scope
from tasks.usecases.sponsor_reports import queue_due_reports, queue_final_report
from tests.support.mail import EVERYONE, make_active_cop, record


def _queue(slug: str, today: date, final: bool = False) -> list[str]:
    with session_scope() as db:
        community = db.scalars(select(Community).where(Community.slug == slug)).one()
        fn = queue_final_report if final else queue_due_reports
        return fn(db, community, today=today, flow_run_id="test-run")


def test_due_report_is_queued_once_to_each_sponsor_with_the_agreed_keys(home) -> None:
    slug = make_active_cop(date(2027, 1, 5), date(2027, 1, 10))
    record(slug, date(2027, 1, 14), EVERYONE[:3], topics=["Home detox"], stories=["We now visit in pairs"],
           consent=Consent.named)
    assert _queue(slug, date(2027, 3, 31)) == []
    keys = _queue(slug, date(2027, 4, 1))
    assert keys == ["report:aaot:2027-01-01:priya@example.nhs.uk", "report:aaot:2027-01-01:tom@example.org"]
    assert _queue(slug, date(2027, 4, 1)) == [] and _queue(slug, date(2027, 5, 1)) == []
    with session_scope() as db:
        reports = db.scalars(select(SponsorReport)).all()
        assert len(reports) == 1 and reports[0].figures["sessions"] == 1
        body = db.scalars(select(OutboxMessage.text_body)).first()
    assert "We now visit in pairs" in body and "Home detox" in body


def test_missed_periods_catch_up_in_order(home) -> None:
    slug = make_active_cop(date(2027, 1, 5), date(2027, 1, 10), sponsor_reports="monthly")
    keys = _queue(slug, date(2027, 4, 2))
    assert [k.split(":")[2] for k in keys] == ["2027-01-01"] * 2 + ["2027-02-01"] * 2 + ["2027-03-01"] * 2


def test_not_launched_or_archived_gets_no_periodic_report(home) -> None:
    slug = make_active_cop(date(2027, 1, 5), date(2027, 1, 10))
    with session_scope() as db:
        db.scalars(select(Community)).one().stage = "proposed"
    assert _queue(slug, date(2027, 7, 1)) == []


def test_final_report_covers_the_whole_life_and_ends_periodic_ones(home) -> None:
    slug = make_active_cop(date(2027, 1, 5), date(2027, 1, 10))
    record(slug, date(2027, 1, 14), EVERYONE[:3])
    record(slug, date(2027, 4, 15), EVERYONE, topics=["Last case"])
    _queue(slug, date(2027, 4, 1))
    keys = _queue(slug, date(2027, 5, 20), final=True)
    assert keys == ["final-report:aaot:priya@example.nhs.uk", "final-report:aaot:tom@example.org"]
    assert _queue(slug, date(2027, 5, 21), final=True) == []
    assert _queue(slug, date(2027, 7, 1)) == []  # the final report covered everything
    with session_scope() as db:
        final = db.scalars(select(SponsorReport).where(SponsorReport.final.is_(True))).one()
        # The whole life from the launch, not only since the last periodic report.
        assert (final.period_start, final.period_end) == (date(2027, 1, 10), date(2027, 5, 20))
        assert final.figures["sessions"] == 2 and "Last case" in final.figures["topics"]
        subject = db.scalars(select(OutboxMessage.subject).where(OutboxMessage.template == "final-sponsor-report")).first()
    assert "final report" in subject


def test_a_sponsor_added_later_gets_reports_from_then_on(home) -> None:
    from models.db.tables import Person, Sponsorship

    slug = make_active_cop(date(2027, 1, 5), date(2027, 1, 10))
    _queue(slug, date(2027, 4, 1))
    with session_scope() as db:
        community = db.scalars(select(Community)).one()
        person = Person(name="New Sponsor", email="new@example.org")
        db.add(person)
        db.flush()
        db.add(Sponsorship(community_id=community.id, person_id=person.id, added_on=date(2027, 5, 1)))
    keys = _queue(slug, date(2027, 7, 1))
    assert sorted(k for k in keys if "new@" in k) == ["report:aaot:2027-04-01:new@example.org"]
