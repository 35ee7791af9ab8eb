"""SMTP delivery through a real aiosmtpd server on loopback: STARTTLS, login, faults."""

from __future__ import annotations

import ssl
from datetime import timedelta

from aiosmtpd.controller import Controller

from tasks.email.delivery import _now, deliver_pending
from tasks.storage.settings import get_settings
from tests.support.mail import rows
from tests.support.servers import Mailbox, free_port


def test_starttls_login_and_one_message_each_as_multipart_alternative(smtp_server, queue) -> None:
    mailbox, auth = smtp_server
    ids = queue("a@example.nhs.uk", "b@example.org")
    report = deliver_pending(ids)
    assert sorted(report.sent) == ["test:a@example.nhs.uk", "test:b@example.org"]
    assert len(mailbox.messages) == 2
    # Logged in over TLS, on one connection for the whole batch.
    assert auth.tls_seen == [True]
    msg = mailbox.to("a@example.nhs.uk")[0]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.get_payload()] == ["text/plain", "text/html"]
    assert msg["Message-ID"].endswith("@copflow>")
    assert all(r.status == "sent" and r.transport == "smtp" for r in rows())


def test_repeated_run_sends_nothing_twice(smtp_server, queue) -> None:
    mailbox, _ = smtp_server
    ids = queue("a@example.nhs.uk")
    deliver_pending(ids)
    again = deliver_pending(ids)
    assert again.sent == [] and len(mailbox.messages) == 1
    assert deliver_pending(None).sent == []
    assert len(mailbox.messages) == 1


def test_transient_451_is_retried_within_the_run(smtp_server, queue) -> None:
    mailbox, _ = smtp_server
    mailbox.data_replies = ["451 4.3.0 try again later", "421 4.7.0 busy"]
    ids = queue("a@example.nhs.uk")
    report = deliver_pending(ids)
    assert report.sent == ["test:a@example.nhs.uk"]
    assert len(mailbox.messages) == 1
    assert rows()[0].attempts == 3


def test_still_transient_rows_wait_for_the_next_run_then_go_once(smtp_server, queue, monkeypatch) -> None:
    mailbox, _ = smtp_server
    monkeypatch.setenv("COPFLOW_SEND_RETRIES_IN_RUN", "0")
    get_settings.cache_clear()
    mailbox.data_replies = ["451 4.3.0 greylisted"]
    ids = queue("a@example.nhs.uk", "b@example.org")
    first = deliver_pending(ids)
    assert first.deferred == ["test:a@example.nhs.uk"] and first.sent == ["test:b@example.org"]
    waiting = rows(key="test:a@example.nhs.uk")[0]
    assert waiting.status == "pending" and "451" in waiting.last_error
    assert waiting.next_attempt_at is not None
    # The retried run, once the backoff has passed: sent once; b is not sent again.
    import time
    time.sleep(0.1)
    second = deliver_pending(None)
    assert second.sent == ["test:a@example.nhs.uk"]
    assert len(mailbox.to("a@example.nhs.uk")) == 1 and len(mailbox.to("b@example.org")) == 1


def test_550_for_one_address_is_recorded_and_the_batch_goes_on(smtp_server, queue) -> None:
    mailbox, _ = smtp_server
    mailbox.refuse_rcpt["gone@example.org"] = "550 5.1.1 no such mailbox"
    ids = queue("a@example.nhs.uk", "gone@example.org", "c@example.org")
    report = deliver_pending(ids)
    assert report.failed == ["test:gone@example.org"]
    assert sorted(report.sent) == ["test:a@example.nhs.uk", "test:c@example.org"]
    failed = rows(status="failed")
    assert len(failed) == 1 and "550" in failed[0].last_error and "no such mailbox" in failed[0].last_error
    # A failed row is not retried by later runs.
    assert deliver_pending(None).sent == []
    assert len(mailbox.messages) == 2


def test_dropped_connection_mid_message_is_retried_on_a_new_connection(smtp_server, queue) -> None:
    mailbox, auth = smtp_server
    mailbox.drop_next = 1
    ids = queue("a@example.nhs.uk", "b@example.org")
    report = deliver_pending(ids)
    assert sorted(report.sent) == ["test:a@example.nhs.uk", "test:b@example.org"]
    assert len(mailbox.to("a@example.nhs.uk")) == 1 and len(mailbox.to("b@example.org")) == 1
    assert len(auth.tls_seen) == 2  # logged in again on the new connection
    assert mailbox.drop_next == 0 and rows(key="test:a@example.nhs.uk")[0].attempts == 2


def test_gives_up_after_the_attempt_limit(smtp_server, queue, monkeypatch) -> None:
    mailbox, _ = smtp_server
    monkeypatch.setenv("COPFLOW_SEND_ATTEMPTS", "2")
    get_settings.cache_clear()
    mailbox.data_replies = ["451 busy"] * 5
    ids = queue("a@example.nhs.uk")
    report = deliver_pending(ids)
    assert report.failed == ["test:a@example.nhs.uk"]
    row = rows()[0]
    assert row.status == "failed" and row.last_error.startswith("gave up after 2 attempts")


def test_server_down_leaves_everything_pending_then_sends_once(home, queue, monkeypatch, tmp_path) -> None:
    port = free_port()
    for name, value in {"EMAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                        "SMTP_SECURITY": "none", "SEND_BACKOFF_SECONDS": "0.05", "SMTP_TIMEOUT": "5",
                        "SEND_RETRIES_IN_RUN": "1"}.items():
        monkeypatch.setenv(f"COPFLOW_{name}", value)
    get_settings.cache_clear()
    ids = queue("a@example.nhs.uk", "b@example.org")
    report = deliver_pending(ids)
    assert report.sent == [] and report.failed == []
    assert "could not connect" in (report.stopped or "")
    assert {r.status for r in rows()} == {"pending"}
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        import time
        time.sleep(0.2)
        assert sorted(deliver_pending(None).sent) == ["test:a@example.nhs.uk", "test:b@example.org"]
        assert deliver_pending(None).sent == []
    finally:
        controller.stop()
    assert len(mailbox.messages) == 2


def test_wrong_password_is_not_sent_and_not_leaked(smtp_server, queue, monkeypatch) -> None:
    mailbox, _ = smtp_server
    monkeypatch.setenv("COPFLOW_SMTP_PASSWORD", "wrong-password-xyz")
    monkeypatch.setenv("COPFLOW_SEND_RETRIES_IN_RUN", "0")
    get_settings.cache_clear()
    queue("a@example.nhs.uk")
    report = deliver_pending(None)
    assert report.sent == [] and "login" in (report.stopped or "")
    assert mailbox.messages == []
    assert all("wrong-password-xyz" not in (r.last_error or "") for r in rows())


def test_implicit_tls(cert, home, queue, monkeypatch) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, cert))
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        for name, value in {"EMAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                            "SMTP_SECURITY": "tls", "SMTP_CA_FILE": str(cert[0])}.items():
            monkeypatch.setenv(f"COPFLOW_{name}", value)
        get_settings.cache_clear()
        assert deliver_pending(queue("a@example.nhs.uk")).sent == ["test:a@example.nhs.uk"]
    finally:
        controller.stop()
    assert len(mailbox.messages) == 1


def test_a_stale_claim_from_a_crashed_run_is_taken_up_once(smtp_server, queue) -> None:
    from sqlalchemy import update

    from models.db.tables import OutboxMessage
    from tasks.storage.db import session_scope

    mailbox, _ = smtp_server
    queue("a@example.nhs.uk", "b@example.org")
    with session_scope() as db:  # as a run that claimed both and then died
        db.execute(update(OutboxMessage).values(status="sending", attempts=1,
                                                claimed_at=_now() - timedelta(hours=1)))
        db.execute(update(OutboxMessage).where(OutboxMessage.key == "test:b@example.org")
                   .values(claimed_at=_now()))
    report = deliver_pending(None)
    assert report.sent == ["test:a@example.nhs.uk"]  # b is still claimed by a live run
    assert len(mailbox.messages) == 1
    assert rows(key="test:b@example.org")[0].status == "sending"
