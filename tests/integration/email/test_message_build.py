"""The message delivery builds once is the message the stdlib's usual calls make: the same bytes
(but the random MIME boundary), as smtplib's send_message and bytes(msg) write them, for the
bodies that choose each transfer encoding and for names that fold, quote or encode."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from types import SimpleNamespace
from typing import Any

import pytest

from tasks.email.message import build_message, envelope, message_id, wire_bytes
from tasks.storage.settings import Settings

BODIES = {  # (text, HTML): the transfer encoding set_content chooses for each
    ("7bit", "8bit"): ("Hello.\nShort ASCII lines.\n", "<p>Café</p>\n"),
    ("quoted-printable", "quoted-printable"): ("Café — a long line " + "x" * 120 + "\n",
                                               "<p>Café " + "é" * 10 + "x" * 80 + "</p>\n" * 30),
    ("base64", "base64"): ("学习小组 ☕ " * 40, "<p>" + "学习小组" * 60 + "</p>"),
}
NAMES = ["Lee Hart", "O'Brien & \"Sons\"", "José Ñúñez", "Zed, Ray; x", "n" * 120, "学习小组 ☕"]


def _row(text: str, html: str, name: str, reply: str | None) -> Any:
    return SimpleNamespace(key=f"report:aaot:2027-01-01:lee@example.org:{len(name)}", to_name=name,
                           to_email="lee@example.org", reply_to_name=reply,
                           reply_to_email="dana@example.nhs.uk" if reply is not None else None,
                           subject=f"[copflow] Report for {name}", text_body=text, html_body=html,
                           calendar=None, queued_at=datetime(2027, 4, 2, 9, 30))


def _usual(row: Any, settings: Settings) -> EmailMessage:
    """The message as EmailMessage's own calls make it (as copflow built it before)."""
    msg = EmailMessage()
    msg["Subject"] = row.subject
    msg["From"] = Address(display_name=settings.email_from_name, addr_spec=settings.email_from)
    msg["To"] = Address(display_name=row.to_name, addr_spec=row.to_email)
    if row.reply_to_email:
        msg["Reply-To"] = Address(display_name=row.reply_to_name, addr_spec=row.reply_to_email)
    msg["Message-ID"] = message_id(row.key)
    msg["Date"] = format_datetime(row.queued_at.replace(tzinfo=UTC))
    msg["X-Copflow-Key"] = row.key
    msg.set_content(row.text_body)
    msg.add_alternative(row.html_body, subtype="html")
    return msg


def _unbounded(data: bytes) -> bytes:
    boundary = re.search(rb'boundary="([^"]+)"', data)
    assert boundary is not None
    return data.replace(boundary.group(1), b"BOUNDARY")


@pytest.mark.parametrize("encodings", sorted(BODIES))
@pytest.mark.parametrize("name", NAMES)
def test_the_same_bytes_as_the_stdlib_makes(encodings: tuple[str, str], name: str) -> None:
    settings = Settings()
    text, html = BODIES[encodings]
    for reply in (None, "Dana Whitlow", "学习小组 ☕ " * 5):
        row = _row(text, html, name, reply)
        built, usual = build_message(row, settings), _usual(row, settings)
        smtp_bytes = usual.as_bytes(policy=usual.policy.clone(linesep="\r\n"))  # as send_message
        assert _unbounded(wire_bytes(built)) == _unbounded(smtp_bytes)
        assert _unbounded(wire_bytes(built, "\n")) == _unbounded(bytes(usual))  # the file transport
        read = message_from_bytes(wire_bytes(built, "\n"), policy=policy.default)
        parts = read.get_payload()
        assert tuple(p["Content-Transfer-Encoding"] for p in parts) == encodings
        assert [p.get_content() for p in parts] == [text.rstrip("\n") + "\n", html.rstrip("\n") + "\n"]
        assert envelope(built) == (settings.email_from, ["lee@example.org"])
