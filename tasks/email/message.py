"""Build a MIME message (multipart/alternative, optional calendar invite) from an outbox row."""

from __future__ import annotations

import hashlib
from datetime import UTC
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from models.db.tables import OutboxMessage
from tasks.storage.settings import Settings


def message_id(key: str) -> str:
    # Stable per idempotency key, so a relay or mailbox can spot a resend.
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@copflow>"


def wire_address(address: str) -> str:
    """The address as sent: the domain in its ASCII (IDNA) form. A non-ASCII part before the @
    needs SMTPUTF8, which relays such as NHSmail do not offer: a ValueError says so."""
    if address.isascii():
        return address
    from email_validator import EmailNotValidError, validate_email

    try:
        ascii_form = validate_email(address, check_deliverability=False).ascii_email
    except EmailNotValidError as exc:
        raise ValueError(f"cannot address {address}: {exc}") from None
    if ascii_form is None:
        raise ValueError(f"cannot address {address}: non-ASCII characters before the @ need "
                         "SMTPUTF8, which copflow does not use")
    return ascii_form


def build_message(row: OutboxMessage, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = row.subject
    msg["From"] = Address(display_name=settings.email_from_name, addr_spec=settings.email_from)
    msg["To"] = Address(display_name=row.to_name, addr_spec=wire_address(row.to_email))
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
