"""Which refusals are about the settings (hold the batch) and which about one message (fail it),
and the settings copflow refuses for email."""

from __future__ import annotations

import pytest

from models.errors import BadInput
from models.masking import masked
from tasks.email.notify import refusal
from tasks.email.smtp import refusal_kind
from tasks.email.transports import SettingsRefused


@pytest.mark.parametrize(("code", "text", "stage", "kind"), [
    (550, "5.7.60 SMTP; Client does not have permissions to send as this sender", "data", "sender-refused"),
    (550, "5.7.60 SMTP; Client does not have permissions to send as this sender", "recipient", "sender-refused"),
    (530, "5.7.57 Client not authenticated to send mail", "sender", "login-refused"),
    (535, "5.7.3 Authentication unsuccessful", "recipient", "login-refused"),
    (553, "5.1.8 sender address rejected", "sender", "sender-refused"),
    (554, "5.7.1 Message rejected as spam by policy", "data", "sender-refused"),
    (550, "5.1.1 <tom@example.org>: mailbox unavailable", "recipient", None),
    (550, "5.7.1 Recipient address rejected: Access denied", "recipient", None),
    (552, "5.2.2 mailbox full", "recipient", None),
    (554, "5.6.0 message content not accepted", "data", None),
    (550, b"5.7.60 bytes as smtplib gives them", "data", "sender-refused"),
])
def test_smtp_refusals(code: int, text: str | bytes, stage: str, kind: str | None) -> None:
    assert refusal_kind(code, text, stage) == kind  # type: ignore[arg-type]


@pytest.mark.parametrize(("status", "reason", "about_settings"), [
    (403, "Notify said 403: AuthError: Invalid token: API key not found", True),
    (400, "Notify said 400: BadRequestError: Can't send to this recipient using a team-only API key", False),
    (400, "Notify said 400: ValidationError: email_address Not a valid email address", False),
    (400, "Notify said 400: BadRequestError: Template not found", True),
    (400, "Notify said 400: BadRequestError: Missing personalisation: name", True),
    (400, "Notify said 400: ValidationError: template_id is not a valid UUID", True),
])
def test_notify_refusals(status: int, reason: str, about_settings: bool) -> None:
    assert isinstance(refusal(status, reason), SettingsRefused) is about_settings


def test_masked_hides_every_address_a_server_echoes() -> None:
    assert masked("550 5.1.1 <o'neil+x@bücher.example>: unknown; from a.b@c.d") == \
        "550 5.1.1 <[address]>: unknown; from [address]"


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str):  # type: ignore[no-untyped-def]
    from tasks.storage.settings import get_settings

    for name, value in env.items():
        monkeypatch.setenv(f"COPFLOW_{name}", value)
    get_settings.cache_clear()
    try:
        return get_settings()
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("password", [{"SMTP_PASSWORD": "pw"}, {"SMTP_PASSWORD_BLOCK": "relay-password"}])
def test_a_password_in_clear_off_loopback_is_one_line_naming_the_variables(
        monkeypatch: pytest.MonkeyPatch, password: dict[str, str]) -> None:
    with pytest.raises(BadInput) as refused:
        _settings(monkeypatch, EMAIL_TRANSPORT="smtp", SMTP_SECURITY="none", SMTP_HOST="relay.example.nhs.uk",
                  **password)
    message = str(refused.value)
    assert "\n" not in message and "pw" not in message.replace("PASSWORD", "")
    assert message.startswith("COPFLOW_SMTP_SECURITY=none would send COPFLOW_SMTP_PASSWORD")
    assert "COPFLOW_SMTP_HOST" in message


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]"])
def test_a_password_in_clear_on_loopback_is_allowed(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    assert _settings(monkeypatch, EMAIL_TRANSPORT="smtp", SMTP_SECURITY="none", SMTP_HOST=host,
                     SMTP_PASSWORD="pw").smtp_host == host


def test_no_password_or_tls_is_allowed_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _settings(monkeypatch, EMAIL_TRANSPORT="smtp", SMTP_SECURITY="none", SMTP_HOST="relay.internal")
    assert _settings(monkeypatch, EMAIL_TRANSPORT="smtp", SMTP_SECURITY="starttls", SMTP_HOST="relay.internal",
                     SMTP_PASSWORD="pw")
