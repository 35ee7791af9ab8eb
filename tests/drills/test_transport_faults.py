"""Drill 3: transport faults across a whole sponsor-report flow run (Prefect test harness).

tests/integration/email/test_smtp.py and test_notify.py inject each fault into a small batch of plain test
rows; here they hit one mixed batch of real emails from several CoPs (launch invitations,
sponsor notices and quarterly reports), delivered by the flow: transient faults are retried
until delivered, permanent ones are recorded and reported, and everyone else gets theirs once.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.drills import support as s
from tests.drills.tally import DRILLS

pytestmark = pytest.mark.flows
GONE = s.SPONSORS[1]  # tom: his mailbox no longer exists (550) / Notify refuses him (400)
DAY = date(2027, 4, 2)


def _three_cops() -> None:
    for slug in ("north", "south", "west"):
        s.active_cop(slug, sessions=2)


def _run_until_settled(runs: int = 3) -> list[Any]:
    from flows.sponsor_report import ReportRequest, sponsor_report

    summaries = []
    for _ in range(runs):
        summaries.append(sponsor_report(request=ReportRequest(today=DAY)))
        if not summaries[-1].deferred:
            break
        time.sleep(0.2)  # past the backoff
    return summaries


def _check(delivered: Counter[str]) -> list[Any]:
    rows = s.outbox_rows()
    assert len(rows) == 3 * (4 + 2) + 3 * 2  # invitations (not the convenor), sponsor notices, one report each
    for row in rows:
        if row.to_email == GONE:
            assert row.status == "failed" and row.last_error, row.key
        else:
            assert row.status == "sent", (row.key, row.status, row.last_error)
            assert delivered[row.key] == 1, (row.key, delivered[row.key])
    assert not [k for k, n in delivered.items() if n != 1]
    return rows


def test_smtp_drop_421_451_and_550_in_one_flow_run(home: Path, prefect_harness: None,
                                                    smtp_server: Any, capsys: Any) -> None:
    mailbox, _ = smtp_server
    _three_cops()
    mailbox.drop_next = 1  # the connection drops mid-message
    mailbox.data_replies = ["421 4.7.0 too busy, try later", "451 4.3.0 local error in processing"]
    mailbox.refuse_rcpt[GONE] = "550 5.1.1 mailbox unavailable"
    summaries = _run_until_settled()
    rows = _check(Counter(str(m["X-Copflow-Key"]) for m in mailbox.messages))
    failed = [r for r in rows if r.status == "failed"]
    assert all("550 5.1.1 mailbox unavailable" in r.last_error for r in failed) and len(failed) == 6
    assert sum(x.failed for x in summaries) == 6 and summaries[-1].deferred == 0
    assert mailbox.drop_next == 0 and mailbox.data_replies == []  # every fault was met
    retried = [r for r in rows if r.status == "sent" and r.attempts > 1]
    assert len(retried) >= 1
    DRILLS.fault(3 + len(failed))
    from cli.app import main  # the convenor can see why

    assert main(["outbox", "--failed"]) == 0
    shown = capsys.readouterr().out
    assert shown.count("550 5.1.1 mailbox unavailable") == 6 and "outbox: 0 pending" in shown


def test_notify_429_500_503_and_400_in_one_flow_run(home: Path, prefect_harness: None,
                                                     notify_server: Any) -> None:
    _three_cops()
    # 429, 500 (not created), 500 after creating it (the answer lost), 503; then 201s.
    notify_server.replies = [(429, False), (500, False), (500, True), (503, False)]
    notify_server.refuse = {GONE: 400}
    summaries = _run_until_settled()
    rows = _check(Counter(n["reference"] for n in notify_server.notifications))
    failed = [r for r in rows if r.status == "failed"]
    assert len(failed) == 6 and all("400" in r.last_error for r in failed)
    assert notify_server.replies == [] and len(notify_server.lookups) >= 1
    assert sum(x.failed for x in summaries) == 6
    DRILLS.fault(4 + len(failed))
