"""A run over every CoP ends with counts and a few named CoPs, delivering as it goes; every
email still goes once, and the summary says how many CoPs it did not name and where they are."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bench.generate import BENCH_TODAY, generate
from flows.health import HealthRequest, health
from flows.sponsor_report import ReportRequest, sponsor_report
from models.db.tables import OutboxMessage
from tasks.storage.db import engine, session_scope

pytestmark = pytest.mark.flows

COPS = 5  # each needs attention (its rotation is due) and has one quarterly report due


def test_every_cop_runs_keep_counts_name_a_few_and_send_each_email_once(
        prefect_harness, home, monkeypatch) -> None:
    monkeypatch.setattr("flows._compose.LISTED", 2)
    monkeypatch.setattr("flows._compose.DELIVER_EVERY", 2)  # delivered in batches as the run goes
    generate(engine(), COPS)

    checked = health(request=HealthRequest(today=BENCH_TODAY))
    assert checked.tally is not None
    assert (checked.tally.seen, checked.tally.needing_attention, checked.tally.not_listed) == (COPS, COPS, 3)
    assert [c.slug for c in checked.communities] == ["cop-00000", "cop-00001"]
    assert checked.sent == checked.tally.queued == COPS and checked.failed == 0
    assert "and 3 more CoPs needing attention" in checked.summary
    assert "copflow health --stored" in checked.summary

    reported = sponsor_report(request=ReportRequest(today=BENCH_TODAY))
    assert reported.tally is not None and reported.tally.reports == COPS
    assert reported.communities == []  # a report built is not a matter for attention
    assert reported.sent == reported.tally.queued == 3 * COPS

    with session_scope() as db:
        rows = db.execute(select(OutboxMessage.status, OutboxMessage.attempts, func.count())
                          .group_by(OutboxMessage.status, OutboxMessage.attempts)).all()
    assert [tuple(r) for r in rows] == [("sent", 1, 4 * COPS)]


def test_a_run_for_one_cop_keeps_its_full_result(prefect_harness, home) -> None:
    generate(engine(), 1)
    result = health(request=HealthRequest(slug="cop-00000", today=BENCH_TODAY))
    assert result.tally is None and [c.slug for c in result.communities] == ["cop-00000"]
    assert result.communities[0].figures  # the figures, as the convenor's command shows them
