"""Build a MIME message (multipart/alternative, optional calendar invite) from an outbox row."""

from __future__ import annotations

import hashlib
from datetime import UTC
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime

from models.db.tables import OutboxMessage
from models.text import text_problem
from tasks.storage.settings import Settings

HEADERS = ("Subject", "From", "To", "Reply-To", "Message-ID", "Date", "X-Copflow-Key")


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


def _headers(row: OutboxMessage, settings: Settings) -> EmailMessage:
    """The headers alone; a value with an encoded word or a control, format or line-separator
    character is refused (a ValueError), as it would not read back as itself."""
    for what, value in (("subject", row.subject), ("recipient's name", row.to_name),
                        ("sender's name", settings.email_from_name), ("key", row.key),
                        ("reply-to name", row.reply_to_name or "")):
        problem = text_problem(value)
        if problem:
            raise ValueError(f"the {what} {problem}")
    msg = EmailMessage()
    msg["Subject"] = row.subject
    msg["From"] = Address(display_name=settings.email_from_name, addr_spec=settings.email_from)
    msg["To"] = Address(display_name=row.to_name, addr_spec=wire_address(row.to_email))
    if row.reply_to_email:
        msg["Reply-To"] = Address(display_name=row.reply_to_name or "",
                                  addr_spec=wire_address(row.reply_to_email))
    msg["Message-ID"] = message_id(row.key)
    msg["Date"] = format_datetime(row.queued_at.replace(tzinfo=UTC))
    msg["X-Copflow-Key"] = row.key
    return msg


def check_as_read(msg: EmailMessage, row: OutboxMessage, settings: Settings) -> None:
    """Parse the headers as a mail reader would and compare: exactly the headers meant (no Bcc,
    one To), each value the one meant. Whitespace is left out of the comparison: Python's
    folding of long non-ASCII values can move a space between encoded words."""
    read = BytesHeaderParser(policy=policy.default).parsebytes(msg.as_bytes())
    reply = [(_bare(row.reply_to_name or ""), wire_address(row.reply_to_email))] if row.reply_to_email else []
    wrong = (read.keys() != headers_meant(row)  # names only: items() would parse every value
             or _bare(str(read["Subject"])) != _bare(row.subject)
             or _addresses(read, "To") != [(_bare(row.to_name), wire_address(row.to_email))]
             or _addresses(read, "Reply-To") != reply
             or _addresses(read, "From") != [(_bare(settings.email_from_name), settings.email_from)]
             or _bare(str(read["X-Copflow-Key"])) != _bare(row.key))
    if wrong:
        raise ValueError("its headers would not read back as written; not sent")


def headers_meant(row: OutboxMessage) -> list[str]:
    """The headers of this row's message, in order (Reply-To only when someone can be replied to)."""
    return [h for h in HEADERS if h != "Reply-To" or row.reply_to_email]


def _addresses(read: EmailMessage, header: str) -> list[tuple[str, str]]:
    """(name, address) of each address in a header as a mail reader parses it; [] when absent."""
    if header not in read:
        return []
    return [(_bare(a.display_name), a.addr_spec) for a in read[header].addresses]


def _bare(text: str) -> str:
    return "".join(text.split())


def build_message(row: OutboxMessage, settings: Settings) -> EmailMessage:
    msg = _headers(row, settings)
    check_as_read(msg, row, settings)
    msg.set_content(row.text_body)
    msg.add_alternative(row.html_body, subtype="html")
    if row.calendar:
        msg.add_attachment(
            row.calendar.encode(), maintype="text", subtype="calendar",
            filename="invite.ics", params={"method": calendar_method(row.calendar)},
        )
    return msg


def calendar_method(ics: str) -> str:
    """The iTIP method the .ics itself states (REQUEST, or CANCEL for a session called off)."""
    return "CANCEL" if "METHOD:CANCEL" in ics.splitlines() else "REQUEST"
