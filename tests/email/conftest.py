"""Fixtures for the email tests: real SMTP and HTTP servers on loopback, and queued rows."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.email.servers import (
    API_KEY,
    TEMPLATE_ID,
    Authenticator,
    Mailbox,
    NotifyServer,
    free_port,
    self_signed_cert,
)


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path)


@pytest.fixture
def smtp_server(cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Mailbox, Authenticator]]:
    """STARTTLS required, login required over TLS; settings point copflow at it."""
    from tasks.settings import get_settings

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, cert))
    mailbox, auth = Mailbox(), Authenticator("copflow-relay", "s3cret-relay-pass")
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=auth, auth_require_tls=True,
                            auth_required=True)
    controller.start()
    for name, value in {"EMAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                        "SMTP_SECURITY": "starttls", "SMTP_USERNAME": "copflow-relay",
                        "SMTP_PASSWORD": "s3cret-relay-pass", "SMTP_CA_FILE": str(cert[0]),
                        "SMTP_TIMEOUT": "5", "SEND_BACKOFF_SECONDS": "0.05",
                        "EMAIL_FROM": "copflow@example.nhs.uk"}.items():
        monkeypatch.setenv(f"COPFLOW_{name}", value)
    get_settings.cache_clear()
    yield mailbox, auth
    controller.stop()
    get_settings.cache_clear()


@pytest.fixture
def notify_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifyServer]:
    from tasks.settings import get_settings

    with NotifyServer() as server:
        for name, value in {"EMAIL_TRANSPORT": "notify", "NOTIFY_BASE_URL": server.url,
                            "NOTIFY_API_KEY": API_KEY, "NOTIFY_TEMPLATE_ID": TEMPLATE_ID,
                            "SMTP_TIMEOUT": "5", "SEND_BACKOFF_SECONDS": "0.05"}.items():
            monkeypatch.setenv(f"COPFLOW_{name}", value)
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


@pytest.fixture
def queue(home: Path) -> Callable[..., list[int]]:
    """Queue plain test emails to the given addresses; returns their outbox ids."""
    from tasks.db import session_scope
    from tasks.outbox import Recipient, enqueue
    from tasks.rendering import RenderedEmail

    def run(*addresses: str, prefix: str = "test") -> list[int]:
        from sqlalchemy import select

        from models.tables import OutboxMessage

        keys = [f"{prefix}:{a}" for a in addresses]
        with session_scope() as db:
            for address, key in zip(addresses, keys, strict=True):
                enqueue(db, key=key, community=None, template="test",
                        to=Recipient(name=f"Person <{address}>", email=address),
                        email=RenderedEmail(subject=f"Hello {address}", text=f"Plain for {address}\n",
                                            html=f"<p>HTML for {address}</p>"),
                        today=date(2027, 1, 1))
        with session_scope() as db:
            return list(db.scalars(select(OutboxMessage.id).where(OutboxMessage.key.in_(keys))
                                   .order_by(OutboxMessage.id)))

    return run


def rows(**where: Any) -> list[Any]:
    from sqlalchemy import select

    from models.tables import OutboxMessage
    from tasks.db import session_scope

    with session_scope() as db:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(OutboxMessage, name) == value)
        return list(db.scalars(stmt))
