"""Drill 3: transport faults across a whole sponsor-report flow run (Prefect test harness).

tests/integration/email/test_smtp.py and test_notify.py inject each fault into a small batch of plain test
rows; here they hit one mixed batch of real emails from several CoPs (launch invitations,
sponsor notices and quarterly reports), delivered by the flow: transient faults are retried
until delivered, permanent ones are recorded and reported, and everyone else gets theirs once.
"""

from __future__ import annotations

import json
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


# --- Tried as a new operator would: a wrong sender, a relay outage, a missing deployment. ------
# Each ends with every email delivered once or visibly held (never both, never lost), and the
# run shows it in Prefect: its state, its log (copflow's own lines included) and an event.

SEND_AS = "550 5.7.60 SMTP; Client does not have permissions to send as this sender"


def _use_relay(monkeypatch: Any, settings: dict[str, str]) -> None:
    from tasks.storage.settings import get_settings

    for name, value in {**settings, "send_backoff_seconds": "0.05"}.items():
        monkeypatch.setenv(f"COPFLOW_{name.upper()}", value)
    get_settings.cache_clear()


def _report_run() -> tuple[Any, Any]:
    """One sponsor-report run over every CoP, as the daily deployment would: (state, result)."""
    from flows.sponsor_report import ReportRequest, sponsor_report

    state = sponsor_report(request=ReportRequest(today=DAY), return_state=True)
    return state, state.result()


def run_logs(state: Any) -> list[tuple[str, int, str]]:
    """The run's log as the Prefect API keeps it (what the UI shows): (logger, level, message)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    return [(log.name, log.level, log.message) for log in logs]


def _once_or_held(delivered: Counter[str]) -> dict[str, int]:
    """Every email delivered once, or held and not delivered; none lost, none twice."""
    rows = s.outbox_rows()
    assert not [k for k, n in delivered.items() if n != 1], delivered
    for row in rows:
        assert row.status in ("sent", "held"), (row.key, row.status, row.last_error)
        assert delivered[row.key] == (1 if row.status == "sent" else 0), row.key
    return dict(Counter(r.status for r in rows))


def test_a_wrong_sender_holds_every_email_until_fixed_and_resent(
        home: Path, emitted: Any, smtp_relay: Any, monkeypatch: Any, capsys: Any) -> None:
    mailbox, settings = smtp_relay
    _use_relay(monkeypatch, settings)
    _three_cops()
    mailbox.refuse_sender = SEND_AS
    state, result = _report_run()

    assert mailbox.senders == ["copflow@example.nhs.uk"]  # asked once; the rest never tried
    assert _once_or_held(Counter()) == {"held": 24}
    assert (result.sent, result.failed, result.held) == (0, 0, 24)
    assert state.is_completed() and state.name == "Completed with warnings"
    assert "24 email(s) held" in state.message
    logs = run_logs(state)
    assert any(name == "copflow.email" and level >= 30 and "5.7.60" in message
               for name, level, message in logs), logs  # copflow's own logger reached the run
    assert any("24 email(s) held" in message and "resend --held" in message for _, _, message in logs)
    [held] = [e for e in emitted.read() if e.event == "copflow.email.held"]
    assert held.payload["reason"] == "sender-refused" and held.payload["count"] == 24
    assert "@" not in json.dumps(held.payload) + json.dumps([dict(r) for r in held.related])
    assert all("@" not in message for _, _, message in logs)

    # The operator fixes the sender (here: the relay now allows it) and resends; one more run.
    mailbox.refuse_sender = None
    from cli.app import main

    assert main(["outbox", "resend", "--held", "--why", "sender fixed"]) == 0
    assert "24 emails queued again" in capsys.readouterr().out
    assert main(["outbox", "resend", "--held"]) == 0  # nothing held any more: queues nothing
    assert "0 emails queued again" in capsys.readouterr().out
    state, result = _report_run()
    assert state.name == "Completed" and result.sent == 24
    assert _once_or_held(Counter(str(m["X-Copflow-Key"]) for m in mailbox.messages)) == {"sent": 24}
    DRILLS.fault(2)


def test_a_relay_outage_leaves_every_email_pending_then_each_goes_once(
        home: Path, emitted: Any, monkeypatch: Any) -> None:
    from aiosmtpd.controller import Controller

    from tests.support.servers import Mailbox, free_port

    port = free_port()  # nothing listens: connection refused
    _use_relay(monkeypatch, {"email_transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": str(port),
                             "smtp_security": "none", "smtp_timeout": "5", "send_retries_in_run": "0",
                             "email_from": "copflow@example.nhs.uk"})
    _three_cops()
    state, result = _report_run()
    assert {r.status for r in s.outbox_rows()} == {"pending"} and result.deferred == 24
    assert state.name == "Completed with warnings" and "could not connect" in state.message
    assert any(name == "copflow.email" and "could not connect" in message for name, _, message in run_logs(state))

    mailbox = Mailbox()
    relay = Controller(mailbox, hostname="127.0.0.1", port=port)
    relay.start()  # the relay is back
    try:
        time.sleep(0.1)  # past the backoff
        state, result = _report_run()
    finally:
        relay.stop()
    assert state.name == "Completed" and result.sent == 24
    assert _once_or_held(Counter(str(m["X-Copflow-Key"]) for m in mailbox.messages)) == {"sent": 24}
    DRILLS.fault(2)


def test_an_unknown_mailbox_fails_alone_and_the_run_says_so(home: Path, emitted: Any, smtp_relay: Any,
                                                           monkeypatch: Any) -> None:
    mailbox, settings = smtp_relay
    _use_relay(monkeypatch, settings)
    _three_cops()
    mailbox.refuse_rcpt[GONE] = f"550 5.1.1 <{GONE}>: mailbox unavailable"
    state, result = _report_run()
    assert (result.sent, result.failed, result.held) == (18, 6, 0)
    assert state.name == "Completed with warnings" and "6 email(s) failed" in state.message
    failed = [e for e in emitted.read() if e.event == "copflow.email.failed"]
    assert len(failed) == 6 and {e.payload["reason"] for e in failed} == {"recipient-refused"}
    assert {e.payload["slug"] for e in failed} == {"north", "south", "west"}
    assert "@" not in json.dumps([e.payload for e in failed])
    logs = run_logs(state)
    assert sum("failed: recipient refused: 550 5.1.1 <[address]>" in m for _, _, m in logs) >= 6
    assert all(GONE not in m for _, _, m in logs)
    DRILLS.fault(6)


def test_a_missing_deployment_leaves_the_emails_for_the_worker_never_the_file_outbox(
        home: Path, emitted: Any, smtp_relay: Any, monkeypatch: Any, capsys: Any) -> None:
    """PREFECT_API_URL names a server (the harness) with no copflow deployments: the command runs
    the flow here, where COPFLOW_EMAIL_TRANSPORT is not set (the site's relay is the worker's)."""
    from cli.app import main
    from tasks.storage.db import session_scope
    from tasks.usecases.communities import create_community

    with session_scope() as db:
        create_community(db, s.charter("north"), s.LAUNCHED)
    assert main(["launch", "north", "--as", s.CONVENOR, "--today", str(s.LAUNCHED)]) == 0
    said = capsys.readouterr()
    assert "launch/on-request is not deployed" in said.err
    # 4 invitations (the members; the convenor is not invited) and 2 sponsor notices
    assert "6 emails queued, to be delivered by the worker" in said.out.splitlines()
    assert {r.status for r in s.outbox_rows()} == {"pending"} and len(s.outbox_rows()) == 6
    assert not list((home / "outbox").glob("*.eml"))  # nothing "sent" to a folder nobody reads

    # The relay named here too, but its password in a Secret block this process cannot read:
    # the quarter's sponsor reports are queued for the worker as well, not tried with no password.
    _use_relay(monkeypatch, {**smtp_relay[1], "smtp_username": "copflow-relay",
                             "smtp_password_block": "relay-password-not-here"})
    assert main(["report", "north", "--today", str(DAY)]) == 0
    assert "8 emails queued, to be delivered by the worker" in capsys.readouterr().out.splitlines()
    assert {r.status for r in s.outbox_rows()} == {"pending"} and smtp_relay[0].senders == []

    # The worker's next run (with the site's settings) delivers each of them, once.
    mailbox, settings = smtp_relay
    monkeypatch.delenv("COPFLOW_SMTP_USERNAME")
    monkeypatch.delenv("COPFLOW_SMTP_PASSWORD_BLOCK")
    _use_relay(monkeypatch, settings)
    state, result = _report_run()
    assert state.name == "Completed" and result.sent == 8
    assert _once_or_held(Counter(str(m["X-Copflow-Key"]) for m in mailbox.messages)) == {"sent": 8}
    DRILLS.fault(2)
