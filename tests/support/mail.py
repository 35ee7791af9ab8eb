"""The email fixtures (a pytest plugin, registered in tests/conftest.py): real SMTP and HTTP servers on
loopback, queued rows, and a sample CoP to report on."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.support.servers import (
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
def smtp_server(home: Path, cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Mailbox, Authenticator]]:
    """STARTTLS required, login required over TLS; settings point copflow at it."""
    from tasks.storage.settings import get_settings

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
def notify_server(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifyServer]:
    from tasks.storage.settings import get_settings

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
    from tasks.email.outbox import Recipient, enqueue
    from tasks.rendering import RenderedEmail
    from tasks.storage.db import session_scope

    def run(*addresses: str, prefix: str = "test") -> list[int]:
        from sqlalchemy import select

        from models.db.tables import OutboxMessage

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

    from models.db.tables import OutboxMessage
    from tasks.storage.db import session_scope

    with session_scope() as db:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(OutboxMessage, name) == value)
        return list(db.scalars(stmt))


CHARTER: dict[str, Any] = {
    "name": "Alcohol Assertive Outreach Community of Practice",
    "slug": "aaot",
    "domain": "Delivering assertive outreach treatment to people with alcohol dependence",
    "practice": "Cases and stories from outreach teams",
    "cadence": "monthly",
    "sponsor_reports": "quarterly",
    "convenor": {"name": "Dana Whitlow", "email": "dana@example.nhs.uk"},
    "sponsors": [
        {"name": "Priya Raman", "email": "priya@example.nhs.uk", "organisation": "Example Trust"},
        {"name": "Tom Ellis", "email": "tom@example.org", "organisation": "Example ICB"},
    ],
    "members": [
        {"name": "Sam Okafor", "email": "sam@example.nhs.uk", "kind": "practitioner", "planning_group": True},
        {"name": "Lee Hart", "email": "lee@example.org", "kind": "expert-by-experience"},
        {"name": "Ana Costa", "email": "ana@example.ac.uk", "kind": "researcher"},
        {"name": "Jo Reid", "email": "jo@example.nhs.uk", "kind": "practitioner"},
    ],
}
EVERYONE = ["dana@example.nhs.uk", "sam@example.nhs.uk", "lee@example.org", "ana@example.ac.uk",
            "jo@example.nhs.uk"]
SPONSORS = ["priya@example.nhs.uk", "tom@example.org"]


def make_active_cop(created: date, launched: date, **charter: Any) -> str:
    """A CoP stored from its charter and set active directly in the database.

    The launch flow belongs to the lifecycle work; here we only need an active CoP
    with a launch date, so stage and launched_on are set as launch would leave them.
    """
    from models.charter import Charter
    from tasks.storage.db import session_scope
    from tasks.usecases.communities import create_community

    with session_scope() as db:
        community = create_community(db, Charter.model_validate({**CHARTER, **charter}), created)
        community.stage, community.launched_on = "active", launched
        return community.slug


def record(slug: str, held_on: date, attended: list[str], **kw: Any) -> None:
    from tasks.storage.db import session_scope
    from tasks.usecases.sessions import record_session

    with session_scope() as db:
        record_session(db, slug, held_on=held_on, attended=attended, format=None,
                       topics=kw.pop("topics", ()), actor="dana@example.nhs.uk", today=held_on, **kw)
