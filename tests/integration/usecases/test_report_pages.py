"""Sponsor reports for a page of CoPs: read together, each CoP's report its own, a few statements each."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.counting import StatementCounter
from bench.generate import BENCH_TODAY, generate
from models.db.tables import Community, OutboxMessage, SponsorReport
from models.reporting import due_periods
from tasks.storage.db import engine, session_scope
from tasks.usecases.sponsor_reports import build_figures, first_day, queue_each, read_known, report_kind

COPS = 12  # 30 members, 3 sponsors and 12 sessions each (bench/generate.py)


def test_a_page_of_reports_costs_four_statements_per_cop_and_a_few_for_the_page(home) -> None:
    generate(engine(), COPS)
    slugs = [f"cop-{i:05d}" for i in range(COPS)]
    with StatementCounter(engine()) as counter:
        done = list(queue_each(slugs, today=BENCH_TODAY, flow_run_id="run-1"))
    assert [len(outcome.queued) for outcome, _, _ in done] == [3] * COPS
    assert [[line.slug for line in lines] for _, lines, _ in done] == [[slug] for slug in slugs]
    # Each CoP: its report and three emails inserted; the page: a transaction and a dozen reads.
    assert counter.count <= 4 * COPS + 15
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(SponsorReport)) == COPS
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 3 * COPS
    again = list(queue_each(slugs, today=BENCH_TODAY, flow_run_id="run-2"))
    assert all(outcome.queued == [] and lines == [] for outcome, lines, _ in again)


def test_figures_read_with_the_page_are_each_cops_own(home) -> None:
    generate(engine(), COPS)
    with session_scope() as db:
        communities = list(db.scalars(select(Community).order_by(Community.slug)))
        known = read_known(db, communities, BENCH_TODAY)
        for community in communities:
            period = due_periods(first_day(community), report_kind(community), BENCH_TODAY)[0]
            alone = build_figures(db, community, period, today=BENCH_TODAY)
            paged = build_figures(db, community, period, today=BENCH_TODAY, inputs=known.inputs[community.id])
            assert paged == alone and alone.sessions == 12 and alone.members_now == 30
        assert len({build_figures(db, c, period, today=BENCH_TODAY).attendances for c in communities}) > 1
