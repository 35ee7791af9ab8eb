"""Which transport a process may deliver with: the site's, never a default it did not choose."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr

from tasks.email.readiness import not_here, standing_in_for_the_worker
from tasks.storage.settings import Settings


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in [n for n in os.environ if n.startswith("COPFLOW_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(f"COPFLOW_{name}", value)
    return Settings()


def test_a_worker_or_a_machine_without_a_server_uses_its_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not_here(settings(monkeypatch)) is None  # the embedded default: the file outbox


def test_standing_in_for_the_worker_never_uses_the_file_default(monkeypatch: pytest.MonkeyPatch) -> None:
    with standing_in_for_the_worker():
        assert "COPFLOW_EMAIL_TRANSPORT is not set here" in (not_here(settings(monkeypatch)) or "")
        assert not_here(settings(monkeypatch, EMAIL_TRANSPORT="file")) is None  # chosen here: the site's
        relay = settings(monkeypatch, EMAIL_TRANSPORT="smtp", SMTP_HOST="relay.internal", SMTP_USERNAME="cop")
        assert "COPFLOW_SMTP_PASSWORD" in (not_here(relay) or "")
        found = relay.model_copy(update={"smtp_password": SecretStr("from the block")})
        assert not_here(found) is None
        assert "COPFLOW_NOTIFY_API_KEY" in (not_here(settings(monkeypatch, EMAIL_TRANSPORT="notify")) or "")
    assert not_here(settings(monkeypatch)) is None  # only while standing in


def test_a_worker_missing_its_password_leaves_the_email_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    relay = settings(monkeypatch, EMAIL_TRANSPORT="smtp", SMTP_USERNAME="cop")
    assert "COPFLOW_SMTP_PASSWORD" in (not_here(relay) or "")
