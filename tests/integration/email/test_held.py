"""Refusals about the site's settings hold the batch; refusals about one message fail it alone;
an operator's resend queues them again once, under their own keys. Real aiosmtpd on loopback."""

from __future__ import annotations

from datetime import date

import pytest

from models.errors import BadInput
from tasks.email.delivery import deliver_pending
from tasks.storage.settings import get_settings
from tests.support.mail import rows

SEND_AS = "550 5.7.60 SMTP; Client does not have permissions to send as this sender"


def test_a_sender_refused_at_mail_from_holds_every_email_after_the_first(smtp_server, queue) -> None:
    mailbox, _ = smtp_server
    mailbox.refuse_sender = SEND_AS
    ids = queue("a@example.nhs.uk", "b@example.org", "c@example.org", "d@example.org")
    report = deliver_pending(ids)
    assert report.sent == [] and report.failed == [] and len(report.held) == 4
    assert mailbox.senders == ["copflow@example.nhs.uk"]  # asked once, then the batch stopped
    first, *rest = rows()
    assert first.status == "held" and SEND_AS in first.last_error and first.attempts == 1
    assert {r.status for r in rest} == {"held"} and {r.attempts for r in rest} == {0}
    assert [(p.status, p.kind) for p in report.problems] == [("held", "sender-refused")]
    assert "held" in (report.stopped or "") and "5.7.60" in (report.stopped or "")


def test_send_as_refused_after_data_holds_too(smtp_server, queue) -> None:
    # Exchange Online says 5.7.60 at the end of DATA, after the recipients were accepted.
    mailbox, _ = smtp_server
    mailbox.data_replies = [SEND_AS]
    report = deliver_pending(queue("a@example.nhs.uk", "b@example.org"))
    assert len(report.held) == 2 and mailbox.messages == []


def test_an_unknown_mailbox_fails_only_its_own_email(smtp_server, queue) -> None:
    mailbox, _ = smtp_server
    mailbox.refuse_rcpt["gone@example.org"] = "550 5.1.1 <gone@example.org>: mailbox unavailable"
    report = deliver_pending(queue("a@example.nhs.uk", "gone@example.org", "b@example.org"))
    assert sorted(report.sent) == ["test:a@example.nhs.uk", "test:b@example.org"]
    assert report.failed == ["test:gone@example.org"] and report.held == []
    [problem] = report.problems
    assert problem.kind == "recipient-refused" and "gone@example.org" not in problem.reason
    assert "[address]" in problem.reason  # the server's words, its echo of the address masked


def test_a_policy_refusal_of_one_recipient_fails_only_it(smtp_server, queue) -> None:
    mailbox, _ = smtp_server
    mailbox.refuse_rcpt["x@example.org"] = "550 5.7.1 Recipient address rejected: Access denied"
    report = deliver_pending(queue("x@example.org", "b@example.org"))
    assert report.failed == ["test:x@example.org"] and report.sent == ["test:b@example.org"]


def test_a_refused_login_holds_the_batch(smtp_server, queue, monkeypatch) -> None:
    mailbox, _ = smtp_server
    monkeypatch.setenv("COPFLOW_SMTP_PASSWORD", "not-the-password")
    get_settings.cache_clear()
    report = deliver_pending(queue("a@example.nhs.uk", "b@example.org"))
    assert len(report.held) == 2 and mailbox.messages == []
    assert report.problems[0].kind == "login-refused"
    assert all("not-the-password" not in (r.last_error or "") for r in rows())


def _resend(**kw):  # type: ignore[no-untyped-def]
    from tasks.storage.db import session_scope
    from tasks.usecases.resend import resend

    with session_scope() as db:
        return resend(db, operator="operator test", today=date(2027, 1, 2), **kw)


def test_resend_after_the_fix_sends_each_held_email_once(smtp_server, queue) -> None:
    mailbox, _ = smtp_server
    mailbox.refuse_sender = SEND_AS
    deliver_pending(queue("a@example.nhs.uk", "b@example.org", "c@example.org"))
    mailbox.refuse_sender = None  # the relay now lets copflow send as its sender

    assert deliver_pending(None).sent == []  # held rows wait for the operator
    done = _resend(keys=[], statuses=["held"])
    again = _resend(keys=[], statuses=["held"])  # a second resend finds nothing held
    assert len(done.queued) == 3 and again.queued == []
    assert sorted(deliver_pending(None).sent) == ["test:a@example.nhs.uk", "test:b@example.org",
                                                  "test:c@example.org"]
    assert _resend(keys=["test:a@example.nhs.uk"], statuses=[]).left == {"test:a@example.nhs.uk": "sent"}
    assert deliver_pending(None).sent == []
    assert sorted(str(m["X-Copflow-Key"]) for m in mailbox.messages) == [
        "test:a@example.nhs.uk", "test:b@example.org", "test:c@example.org"]
    assert {(r.status, r.resends) for r in rows()} == {("sent", 1)}


def test_resend_audits_each_email_by_id_and_refuses_an_unknown_key(smtp_server, queue) -> None:
    from sqlalchemy import select

    from models.db.tables import AuditEntry
    from tasks.storage.db import session_scope

    mailbox, _ = smtp_server
    mailbox.refuse_rcpt["gone@example.org"] = "550 5.1.1 mailbox unavailable"
    [row_id] = queue("gone@example.org")
    deliver_pending(None)
    with pytest.raises(BadInput, match="no email has the key 'test:nobody@example.org'"):
        _resend(keys=["test:gone@example.org", "test:nobody@example.org"], statuses=[])
    assert rows()[0].status == "failed"  # nothing half-done
    assert _resend(keys=["test:gone@example.org"], statuses=[]).queued == [row_id]
    with session_scope() as db:
        [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "email.resent"))
        assert entry.actor == "operator test"
        assert entry.before == {"outbox": row_id, "status": "failed", "template": "test"}
