"""Build a MIME message (multipart/alternative, optional calendar invite) from an outbox row."""

from __future__ import annotations

import hashlib
from datetime import UTC
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from models.tables import OutboxMessage
from tasks.settings import Settings


def message_id(key: str) -> str:
    # Stable per idempotency key, so a relay or mailbox can spot a resend.
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@copflow>"


def build_message(row: OutboxMessage, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = row.subject
    msg["From"] = Address(display_name=settings.email_from_name, addr_spec=settings.email_from)
    msg["To"] = Address(display_name=row.to_name, addr_spec=row.to_email)
    msg["Message-ID"] = message_id(row.key)
    msg["Date"] = format_datetime(row.queued_at.replace(tzinfo=UTC))
    msg["X-Copflow-Key"] = row.key
    msg.set_content(row.text_body)
    msg.add_alternative(row.html_body, subtype="html")
    if row.calendar:
        msg.add_attachment(
            row.calendar.encode(), maintype="text", subtype="calendar",
            filename="invite.ics", params={"method": "REQUEST"},
        )
    return msg
