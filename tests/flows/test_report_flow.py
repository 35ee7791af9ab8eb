"""The sponsor-report flow end to end: real SMTP and Notify servers on loopback, a year replayed."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from flows.sponsor_report import ReportRequest, sponsor_report
from models.stories import Consent
from tasks.storage.settings import get_settings
from tests.support.mail import EVERYONE, SPONSORS, make_active_cop, record, rows

pytestmark = pytest.mark.flows


def _q1_cop() -> str:
    slug = make_active_cop(date(2027, 1, 5), date(2027, 1, 10))
    record(slug, date(2027, 1, 14), EVERYONE[:4], topics=["Engaging people who miss appointments"],
           stories=["Lee's account changed how we plan first visits"], consent=Consent.named)
    record(slug, date(2027, 2, 11), EVERYONE[1:], outputs=["A shared risk checklist"])
    return slug


def test_smtp_exactly_once_across_a_retried_run(prefect_harness, smtp_server, monkeypatch) -> None:
    mailbox, _ = smtp_server
    monkeypatch.setenv("COPFLOW_SEND_RETRIES_IN_RUN", "0")
    get_settings.cache_clear()
    slug = _q1_cop()
    mailbox.data_replies = ["451 4.7.1 try again later"]  # the first sponsor's copy, once
    first = sponsor_report(request=ReportRequest(slug=slug, today=date(2027, 4, 1)))
    assert first.communities[0].periods == ["January to March 2027"]
    assert (first.sent, first.deferred, first.failed) == (1, 1, 0)
    time.sleep(0.1)  # past the backoff
    again = sponsor_report(request=ReportRequest(slug=slug, today=date(2027, 4, 1)))
    assert again.communities[0].periods == [] and (again.sent, again.deferred) == (1, 0)
    sponsor_report(request=ReportRequest(slug=slug, today=date(2027, 4, 2)))
    for sponsor in SPONSORS:
        got = mailbox.to(sponsor)
        assert len(got) == 1, sponsor
        assert got[0]["Subject"].endswith("sponsor report for January to March 2027")
    assert {m for m in mailbox.messages if "dana@" in str(m["To"])} == set()


def test_smtp_permanent_refusal_is_recorded_and_shown(prefect_harness, smtp_server, cli) -> None:
    mailbox, _ = smtp_server
    mailbox.refuse_rcpt["tom@example.org"] = "550 5.1.1 mailbox unavailable"
    slug = _q1_cop()
    summary = sponsor_report(request=ReportRequest(slug=slug, today=date(2027, 4, 1)))
    assert (summary.sent, summary.failed) == (1, 1)
    assert len(mailbox.to("priya@example.nhs.uk")) == 1 and mailbox.to("tom@example.org") == []
    shown = cli("outbox", "--failed")
    assert shown.returncode == 0, shown.stderr
    assert "tom@example.org" in shown.stdout and "550 5.1.1 mailbox unavailable" in shown.stdout
    assert "priya@" not in shown.stdout
    assert "s3cret-relay-pass" not in shown.stdout + cli("outbox", "--json").stdout


def test_notify_exactly_once_when_an_answer_is_lost(prefect_harness, notify_server, monkeypatch) -> None:
    monkeypatch.setenv("COPFLOW_SEND_RETRIES_IN_RUN", "0")
    get_settings.cache_clear()
    slug = _q1_cop()
    notify_server.replies = [(502, True), (503, False)]  # first: created but answer lost; second: not created
    first = sponsor_report(request=ReportRequest(slug=slug, today=date(2027, 4, 1)))
    assert (first.sent, first.deferred) == (0, 2)
    time.sleep(0.1)
    second = sponsor_report(request=ReportRequest(slug=slug, today=date(2027, 4, 1)))
    assert second.sent == 2
    for sponsor in SPONSORS:
        sent = notify_server.to(sponsor)
        assert len(sent) == 1, sponsor
        assert sent[0]["reference"] == f"report:{slug}:2027-01-01:{sponsor}"
        assert "Engaging people who miss appointments" in sent[0]["personalisation"]["body"]
    assert sorted(notify_server.lookups) == sorted(f"report:{slug}:2027-01-01:{s}" for s in SPONSORS)


def test_a_year_of_quarterly_reports(prefect_harness, home, cli) -> None:
    """Replay 2027 day by day (1st and 15th, quarter days twice): one report per quarter per sponsor."""
    slug = make_active_cop(date(2027, 1, 5), date(2027, 1, 10))
    outbox = Path(get_settings().outbox_dir)
    seen: dict[str, int] = {}
    for month in range(1, 13):
        first, fifteenth = date(2027, month, 1), date(2027, month, 15)
        quarters_ended = (month - 1) // 3
        runs = [first, first] if month in (4, 7, 10) else [first]
        for day in [*runs, fifteenth]:
            if day == fifteenth:
                attended = EVERYONE[: 2 + (month % 4)]
                record(slug, date(2027, month, 14), attended, topics=[f"Case {month}"],
                       methods=["Case review"] if month % 2 else ["Time to Think"])
            sponsor_report(request=ReportRequest(slug=slug, today=day))
            reports = [r for r in rows() if r.template == "sponsor-report"]
            for sponsor in SPONSORS:
                mine = [r for r in reports if r.to_email == sponsor]
                assert len(mine) == quarters_ended, (day, sponsor)
                assert all(r.status == "sent" for r in mine)
        seen[str(month)] = len(list(outbox.glob("report_*.eml")))
    # Into the new year: the fourth quarter arrives on 1 January, once.
    result = cli("report", "--all", "--today", "2028-01-01")
    assert result.returncode == 0, result.stderr
    assert "report for October to December 2027 queued for 2 sponsor email(s)" in result.stdout
    repeat = sponsor_report(request=ReportRequest(slug=slug, today=date(2028, 1, 1)))
    assert repeat.communities[0].queued == 0 and repeat.sent == 0
    periods = sorted(r.key.split(":")[2] for r in rows() if r.to_email == SPONSORS[0])
    assert periods == ["2027-01-01", "2027-04-01", "2027-07-01", "2027-10-01"]
    assert len(list(outbox.glob("report_*.eml"))) == 8
    assert seen["3"] == 0 and seen["4"] == 2


def test_password_from_a_secret_block_never_reaches_logs_artifacts_or_outbox(
        prefect_harness, smtp_server, monkeypatch, caplog) -> None:
    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client

    mailbox, auth = smtp_server
    Secret(value="s3cret-relay-pass").save("copflow-test-smtp-password", overwrite=True)
    monkeypatch.delenv("COPFLOW_SMTP_PASSWORD")
    monkeypatch.setenv("COPFLOW_SMTP_PASSWORD_BLOCK", "copflow-test-smtp-password")
    get_settings.cache_clear()
    slug = _q1_cop()
    caplog.set_level("DEBUG")
    summary = sponsor_report(request=ReportRequest(slug=slug, today=date(2027, 4, 1)))
    assert summary.sent == 2 and len(mailbox.messages) == 2 and auth.tls_seen == [True]
    with get_client(sync_client=True) as client:
        artifacts = [a for a in client.read_artifacts() if a.key == f"sponsor-report-{slug}-2027-01-01"]
    assert artifacts and "January to March 2027" in str(artifacts[0].data)
    text = caplog.text + str(artifacts[0].data) + "".join(
        f"{r.text_body}{r.html_body}{r.last_error}{r.transport_ref}" for r in rows())
    assert "s3cret-relay-pass" not in text
    assert "priya@example.nhs.uk" not in str(artifacts[0].data)  # operations copy: figures, no addresses


def test_a_run_for_one_cop_delivers_that_cops_email_only(prefect_harness, home) -> None:
    """Another CoP's pending email waits for its own run: a run for cop-a sends none of cop-b's."""
    from tasks.storage.db import session_scope
    from tasks.storage.queries import get_community
    from tasks.usecases.sponsor_reports import queue_due_reports

    for slug in ("cop-a", "cop-b"):
        make_active_cop(date(2027, 1, 5), date(2027, 1, 10), slug=slug)
    with session_scope() as db:  # cop-b's reports queued by a run that stopped before delivery
        queue_due_reports(db, get_community(db, "cop-b"), today=date(2027, 4, 1), flow_run_id=None)
    result = sponsor_report(request=ReportRequest(slug="cop-a", today=date(2027, 4, 1)))
    assert [c.slug for c in result.communities] == ["cop-a"] and result.sent == 2
    status = {(r.key.split(":")[1], r.status) for r in rows()}
    assert status == {("cop-a", "sent"), ("cop-b", "pending")}
    # cop-b's own run sends what the stopped run left, and builds nothing twice.
    again = sponsor_report(request=ReportRequest(slug="cop-b", today=date(2027, 4, 1)))
    assert again.communities[0].periods == [] and (again.sent, again.deferred) == (2, 0)
    assert {r.status for r in rows()} == {"sent"}
