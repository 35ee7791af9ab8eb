"""GOV.UK Notify delivery through a real HTTP server on loopback that checks JWT and payload."""

from __future__ import annotations

import time

import jwt

from tasks.email.delivery import deliver_pending
from tasks.email.notify import bearer_token, split_api_key
from tasks.storage.settings import get_settings
from tests.support.mail import rows
from tests.support.servers import API_KEY, SECRET, SERVICE_ID, TEMPLATE_ID


def test_api_key_gives_service_id_and_secret_and_a_valid_token() -> None:
    assert split_api_key(API_KEY) == (SERVICE_ID, SECRET)
    claims = jwt.decode(bearer_token(SERVICE_ID, SECRET), SECRET, algorithms=["HS256"])
    assert claims["iss"] == SERVICE_ID and abs(claims["iat"] - time.time()) < 5


def test_sends_subject_and_body_with_the_key_as_reference(notify_server, queue) -> None:
    ids = queue("a@example.nhs.uk", "b@example.org")
    report = deliver_pending(ids)
    assert sorted(report.sent) == ["test:a@example.nhs.uk", "test:b@example.org"]
    assert notify_server.auth_failures == []
    sent = notify_server.to("a@example.nhs.uk")
    assert len(sent) == 1
    assert sent[0]["template_id"] == TEMPLATE_ID
    assert sent[0]["reference"] == "test:a@example.nhs.uk"
    assert sent[0]["personalisation"] == {"subject": "Hello a@example.nhs.uk",
                                          "body": "Plain for a@example.nhs.uk\n"}
    row = rows(key="test:a@example.nhs.uk")[0]
    assert row.status == "sent" and row.transport_ref == sent[0]["id"]
    assert deliver_pending(ids).sent == [] and len(notify_server.notifications) == 2


def test_429_and_5xx_are_retried(notify_server, queue) -> None:
    notify_server.replies = [(429, False), (503, False)]
    report = deliver_pending(queue("a@example.nhs.uk"))
    assert report.sent == ["test:a@example.nhs.uk"]
    assert len(notify_server.to("a@example.nhs.uk")) == 1
    assert rows()[0].attempts == 3


def test_accepted_but_answered_500_is_looked_up_not_sent_twice(notify_server, queue, monkeypatch) -> None:
    # Notify created it, then the answer was lost: the retried run must find it by reference.
    monkeypatch.setenv("COPFLOW_SEND_RETRIES_IN_RUN", "0")
    get_settings.cache_clear()
    notify_server.replies = [(500, True)]
    ids = queue("a@example.nhs.uk")
    first = deliver_pending(ids)
    assert first.deferred == ["test:a@example.nhs.uk"]
    time.sleep(0.1)
    second = deliver_pending(None)
    assert second.sent == ["test:a@example.nhs.uk"]
    assert notify_server.lookups == ["test:a@example.nhs.uk"]
    assert len(notify_server.to("a@example.nhs.uk")) == 1
    assert rows()[0].transport_ref == notify_server.notifications[0]["id"]


def test_a_400_about_the_recipient_fails_only_that_email(notify_server, queue) -> None:
    notify_server.refuse = {"bad@example.org": 400}
    ids = queue("bad@example.org", "a@example.nhs.uk", "b@example.org")
    report = deliver_pending(ids)
    assert sorted(report.sent) == ["test:a@example.nhs.uk", "test:b@example.org"]
    assert report.failed == ["test:bad@example.org"] and report.held == []
    [failed] = rows(status="failed")
    assert "400" in failed.last_error and "Can't send" in failed.last_error
    assert [p.kind for p in report.problems] == ["recipient-refused"]
    assert deliver_pending(None).failed == []  # not tried again


def test_a_403_holds_the_rest_of_the_batch_untried(notify_server, queue) -> None:
    # Notify answers 403 only about the API key: every other email would meet it too.
    notify_server.refuse = {"blocked@example.org": 403}
    ids = queue("a@example.nhs.uk", "blocked@example.org", "b@example.org", "c@example.org")
    report = deliver_pending(ids)
    assert report.sent == ["test:a@example.nhs.uk"] and report.failed == []
    assert sorted(report.held) == ["test:b@example.org", "test:blocked@example.org", "test:c@example.org"]
    assert len(notify_server.notifications) == 1 and notify_server.to("b@example.org") == []
    held = {r.to_email: r for r in rows(status="held")}
    assert "403" in held["blocked@example.org"].last_error
    assert held["b@example.org"].last_error.startswith(f"held after email #{held['blocked@example.org'].id}")
    assert held["b@example.org"].attempts == 0  # never tried
    assert deliver_pending(None).sent == []  # held rows wait for an operator


def test_a_400_about_the_template_holds_the_batch(notify_server, queue, monkeypatch) -> None:
    monkeypatch.setenv("COPFLOW_NOTIFY_TEMPLATE_ID", "00000000-0000-0000-0000-000000000001")
    get_settings.cache_clear()
    report = deliver_pending(queue("a@example.nhs.uk", "b@example.org"))
    assert len(report.held) == 2 and report.failed == [] and notify_server.notifications == []
    assert [(p.status, p.kind) for p in report.problems] == [("held", "notify-settings")]


def test_a_wrong_key_is_refused_by_the_server_and_never_recorded(notify_server, queue, monkeypatch) -> None:
    wrong = f"copflow_test-{SERVICE_ID}-00000000-0000-0000-0000-000000000000"
    monkeypatch.setenv("COPFLOW_NOTIFY_API_KEY", wrong)
    get_settings.cache_clear()
    report = deliver_pending(queue("a@example.nhs.uk", "b@example.org"))
    assert sorted(report.held) == ["test:a@example.nhs.uk", "test:b@example.org"]
    assert len(notify_server.auth_failures) == 1 and notify_server.notifications == []
    assert all("00000000-0000-0000-0000-000000000000" not in (r.last_error or "") for r in rows())


def test_unreachable_notify_leaves_rows_pending(home, queue, monkeypatch) -> None:
    from tests.support.servers import free_port

    for name, value in {"EMAIL_TRANSPORT": "notify", "NOTIFY_BASE_URL": f"http://127.0.0.1:{free_port()}",
                        "NOTIFY_API_KEY": API_KEY, "NOTIFY_TEMPLATE_ID": TEMPLATE_ID,
                        "SEND_RETRIES_IN_RUN": "0"}.items():
        monkeypatch.setenv(f"COPFLOW_{name}", value)
    get_settings.cache_clear()
    report = deliver_pending(queue("a@example.nhs.uk", "b@example.org"))
    assert report.sent == [] and report.failed == [] and "could not reach Notify" in (report.stopped or "")
    assert {r.status for r in rows()} == {"pending"}
