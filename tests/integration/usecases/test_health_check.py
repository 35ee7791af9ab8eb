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
