"""Build a MIME message (multipart/alternative, optional calendar invite) from an outbox row."""

from __future__ import annotations

import hashlib
from datetime import UTC
from email import policy
from email.contentmanager import _encode_text  # type: ignore[attr-defined]  # set_content's own
from email.generator import NLCRE, BytesGenerator  # type: ignore[attr-defined]
from email.headerregistry import Address, BaseHeader
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, getaddresses
from functools import lru_cache
from io import BytesIO

from models.db.tables import OutboxMessage
from models.text import text_problem
from tasks.storage.settings import Settings

POLICY = policy.default
LINE = POLICY.max_line_length or 78  # longer header lines: the generator folds the value anew
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


def _headers(row: OutboxMessage, settings: Settings) -> list[tuple[str, str | BaseHeader]]:
    """The headers in order, each folded once and read back as a whole block; what the generator
    is to write for each: the folded text, or (where writing that text would not give the same
    bytes) the header to fold again.

    A value with an encoded word or a control, format or line-separator character is refused (a
    ValueError), as it would not read back as itself; so is a block that does not (check_as_read).
    """
    for what, value in (("subject", row.subject), ("recipient's name", row.to_name),
                        ("sender's name", settings.email_from_name), ("key", row.key),
                        ("reply-to name", row.reply_to_name or "")):
        problem = text_problem(value)
        if problem:
            raise ValueError(f"the {what} {problem}")
    made = [_folded("Subject", row.subject),
            _folded_address("From", settings.email_from_name, settings.email_from),
            _folded_address("To", row.to_name, wire_address(row.to_email))]
    if row.reply_to_email:
        made.append(_folded_address("Reply-To", row.reply_to_name or "", wire_address(row.reply_to_email)))
    made += [_folded("Message-ID", message_id(row.key)),
             _folded("Date", format_datetime(row.queued_at.replace(tzinfo=UTC))),
             _folded("X-Copflow-Key", row.key)]
    block = "".join(text for _, text in made).encode("ascii", "surrogateescape")
    read = BytesHeaderParser(policy=POLICY).parsebytes(block)
    check_as_read(read, row, settings)
    return [(name, raw if _as_written(name, raw, text) else header)
            for (header, text), (name, raw) in zip(made, read.raw_items(), strict=True)]


def _folded(name: str, value: str | Address) -> tuple[BaseHeader, str]:
    """One header, and its text as the generator writes it (name, colon, value folded, newline)."""
    header: BaseHeader = POLICY.header_factory(name, value)
    return header, str(header.fold(policy=POLICY))


@lru_cache(maxsize=256)
def _folded_address(name: str, display_name: str, addr_spec: str) -> tuple[BaseHeader, str]:
    # The same sender on every email, the same Reply-To on a CoP's: each folded once.
    return _folded(name, Address(display_name=display_name, addr_spec=addr_spec))


def _as_written(name: str, raw: str, folded: str) -> bool:
    """Whether the generator, given the raw value read back, writes the folded text again as it is
    (not when a line is too long: it would fold that value anew)."""
    lines = raw.splitlines() or [""]
    return (f"{name}: {raw}\n" == folded and len(lines[0]) + len(name) + 2 <= LINE
            and all(len(line) <= LINE for line in lines[1:]))


def check_as_read(read: EmailMessage, row: OutboxMessage, settings: Settings) -> None:
    """Compare the header block, parsed as a mail reader parses it, with what was meant: exactly
    the headers meant (no Bcc, one To), each value the one meant, nothing spilt into a body.
    Whitespace is left out of the comparison: Python's folding of long non-ASCII values can move
    a space between encoded words."""
    reply = [(_bare(row.reply_to_name or ""), wire_address(row.reply_to_email))] if row.reply_to_email else []
    raw = dict(read.raw_items())  # names only below: items() would parse every value
    wrong = (read.keys() != headers_meant(row) or read.get_payload() or read.defects
             or _bare(str(read["Subject"])) != _bare(row.subject)
             or _read_addresses("To", raw["To"]) != ((_bare(row.to_name), wire_address(row.to_email)),)
             or _read_addresses("Reply-To", raw.get("Reply-To")) != tuple(reply)
             or _read_addresses("From", raw["From"]) != ((_bare(settings.email_from_name),
                                                          settings.email_from),)
             or _bare(str(read["X-Copflow-Key"])) != _bare(row.key))
    if wrong:
        raise ValueError("its headers would not read back as written; not sent")


def headers_meant(row: OutboxMessage) -> list[str]:
    """The headers of this row's message, in order (Reply-To only when someone can be replied to)."""
    return [h for h in HEADERS if h != "Reply-To" or row.reply_to_email]


@lru_cache(maxsize=256)
def _read_addresses(header: str, raw: str | None) -> tuple[tuple[str, str], ...]:
    """(name, address) of each address in a header's raw value as a mail reader parses it
    (policy.default's parser: encoded words decoded); () when absent."""
    if raw is None:
        return ()
    parsed = POLICY.header_fetch_parse(header, raw)
    return tuple((_bare(a.display_name), a.addr_spec) for a in parsed.addresses)


def _bare(text: str) -> str:
    return "".join(text.split())


def build_message(row: OutboxMessage, settings: Settings) -> EmailMessage:
    """The message: its headers checked as read and kept as folded then, so the generator writes
    them as they are, not folded again; a text and an HTML part (and an invite, when there is one)."""
    msg = EmailMessage(policy=POLICY)
    for name, value in _headers(row, settings):
        msg.set_raw(name, value)
    if row.calendar:
        msg.set_content(row.text_body)
        msg.add_alternative(row.html_body, subtype="html")
        msg.add_attachment(
            row.calendar.encode(), maintype="text", subtype="calendar",
            filename="invite.ics", params={"method": calendar_method(row.calendar)},
        )
        return msg
    # What set_content then add_alternative make, without parsing and setting each header again.
    msg["MIME-Version"] = _mime_header("MIME-Version", "1.0")
    msg["Content-Type"] = _mime_header("Content-Type", "multipart/alternative")
    msg.set_payload([_text_part(row.text_body, "plain"), _text_part(row.html_body, "html")])
    return msg


def _text_part(body: str, subtype: str) -> EmailMessage:
    """A text part as EmailMessage.set_content makes it: the same transfer encoding, chosen by the
    same function, and the same headers (add_alternative's part carries a MIME-Version too)."""
    cte, payload = _encode_text(body, "utf-8", None, POLICY)
    part = EmailMessage(policy=POLICY)
    part["Content-Type"] = _mime_header("Content-Type", f'text/{subtype}; charset="utf-8"')
    part["Content-Transfer-Encoding"] = _mime_header("Content-Transfer-Encoding", cte)
    if subtype == "html":
        part["MIME-Version"] = _mime_header("MIME-Version", "1.0")
    part.set_payload(payload)
    return part


@lru_cache(maxsize=32)
def _mime_header(name: str, value: str) -> BaseHeader:
    """A MIME header as the registry parses it, once: the same few values on every message (the
    header objects are immutable, so messages can share them)."""
    header: BaseHeader = POLICY.header_factory(name, value)
    return header


class _Generator(BytesGenerator):
    """The stdlib's BytesGenerator writing a body's lines in one go, not two writes per line."""

    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(self._NL.join(NLCRE.split(lines)))  # type: ignore[attr-defined]


def wire_bytes(msg: EmailMessage, linesep: str = "\r\n") -> bytes:
    """The message as sent: the bytes smtplib's send_message (linesep CRLF) or bytes(msg) (LF)
    would write."""
    out = BytesIO()
    _Generator(out, policy=msg.policy.clone(linesep=linesep)).flatten(msg, linesep=linesep)
    return out.getvalue()


def envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    """(sender, recipients) as smtplib's send_message takes them from the headers."""
    raw = dict(msg.raw_items())
    return getaddresses([raw["From"]])[0][1], [a for _, a in getaddresses([raw["To"]])]


def calendar_method(ics: str) -> str:
    """The iTIP method the .ics itself states (REQUEST, or CANCEL for a session called off)."""
    return "CANCEL" if "METHOD:CANCEL" in ics.splitlines() else "REQUEST"
