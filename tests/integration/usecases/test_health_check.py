"""Health through the real database: records, nudges, and a close *proposal* (never a close)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from models.db.tables import HealthRecord
from tasks.usecases.close import mark_work_done
from tasks.usecases.health import check_community
from tests.support.lifecycle import CONVENOR, DAY0, active, audit_actions, create, in_db, outbox, stage


def test_natural_end_sends_one_proposal_to_convenor_and_planning_group(home: Path) -> None:
    slug = active(create())
    day = DAY0 + timedelta(days=12)
    in_db(mark_work_done, slug, actor=CONVENOR, today=day)
    for d in (day, day, day + timedelta(days=1), day + timedelta(days=9)):  # daily runs, one repeated
        in_db(check_community, slug, today=d, flow_run_id=None)

    proposals = outbox("close-proposal")
    assert sorted(p.to_email for p in proposals) == ["dana@example.nhs.uk", "sam@example.nhs.uk"]
    assert "only a proposal" in proposals[0].text_body and "not a failure" in proposals[0].text_body
    assert stage(slug) == "active"  # people decide; nothing closed
    assert audit_actions(slug).count("health.close-proposed") == 1
    records = in_db(lambda db: [(r.on_date, r.signals) for r in db.scalars(
        select(HealthRecord).order_by(HealthRecord.on_date))])
    assert [r[0] for r in records] == [day, day + timedelta(days=1), day + timedelta(days=9)]
    assert all("work-done" in r[1] for r in records)


def test_missed_cadence_nudges_the_convenor_once_a_week(home: Path) -> None:
    slug = active(create())  # one session on DAY0+10, monthly cadence
    late = DAY0 + timedelta(days=80)
    for d in range(3):
        in_db(check_community, slug, today=late + timedelta(days=d), flow_run_id=None)
    nudges = outbox("convenor-nudge")
    assert {n.to_email for n in nudges} == {"dana@example.nhs.uk"}
    assert 1 <= len(nudges) <= 2  # at most one per ISO week: three days span at most two weeks
    assert "no session has been held for longer than the agreed cadence" in nudges[0].text_body
    assert "not a judgement" in nudges[0].text_body


def test_health_counts_a_sessions_guests_as_the_portfolio_and_the_reports_do(home: Path) -> None:
    """A session's guests are people who came: health's attendance trend, the portfolio's and a
    sponsor report's count the same people."""
    from tasks.storage import fidelity as storage
    from tasks.storage.db import read_scope
    from tasks.usecases.health import read_page
    from tests.support.lifecycle import EVERYONE, hold_session

    slug = active(create(), EVERYONE[:2])
    for i, guests in enumerate((0, 3, 6)):
        hold_session(slug, DAY0 + timedelta(days=20 + 14 * i), EVERYONE[:1], guests=guests)
    today = DAY0 + timedelta(days=60)
    page = in_db(read_page, [slug], today)
    health_counts = [s.attended for s in next(iter(page.inputs.values())).sessions]
    with read_scope() as db:
        cop = storage.communities(db, slug)[0]
        held = storage.read_page(db, [cop], today).sessions[cop.id]
    assert health_counts[-3:] == [n for _, n in held.recent][-3:] == [1, 4, 7]
