"""SMTP transport: one connection per batch, STARTTLS or implicit TLS, optional login.

Works with an NHSmail-style relay (STARTTLS on 587 with an account login). A
message accepted by the server is sent; if the connection drops after DATA but
before the reply, we cannot know, so the message is retried: that is the one
at-least-once window, and the deterministic Message-ID lets mailboxes spot it.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from typing import Literal

from tasks.email.message import envelope, wire_bytes
from tasks.email.transports import ConnectionFailure, PermanentFailure, SettingsRefused, TransientFailure
from tasks.storage.settings import Settings


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}"


Stage = Literal["sender", "recipient", "data"]
ENHANCED = re.compile(r"\s*([245]\.\d{1,3}\.\d{1,3})\b")
AUTH_CODES = frozenset({530, 535, 538})  # authentication required / refused / needs encryption
# Exchange Online (NHSmail): this account may not send, or not as this sender, whatever the message.
SENDER_CODES = frozenset({"5.7.57", "5.7.60", "5.7.64", "5.7.708", "5.7.750"})


def refusal_kind(code: int, text: bytes | str, stage: Stage) -> str | None:
    """Which settings a permanent refusal is about ('login-refused', 'sender-refused'), or None
    when it is about this one message (an unknown mailbox: 550 5.1.1).

    A refusal of the sender (MAIL FROM) is always about the settings, since every message has
    the same sender; so is an authentication code anywhere, an Exchange sender code, and a
    policy refusal (5.7.x) of a message's data. A recipient's 5.7.x is about that recipient.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    found = ENHANCED.match(text)
    enhanced = found.group(1) if found else ""
    if code in AUTH_CODES:
        return "login-refused"
    if stage == "sender" or enhanced in SENDER_CODES or (stage == "data" and enhanced.startswith("5.7.")):
        return "sender-refused"
    return None


def _classify(code: int, text: bytes | str, what: str, stage: Stage) -> Exception:
    # 4xx: try again later; 5xx: the server will not take it (this message, or any: the settings).
    reason = f"{what}: {_reply(code, text)}"
    if 400 <= code < 500:
        return TransientFailure(reason)
    settings = refusal_kind(code, text, stage)
    if settings is not None:
        return SettingsRefused(reason, kind=settings)
    return PermanentFailure(reason, kind="recipient-refused" if stage == "recipient" else "message-refused")


class SmtpTransport:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._conn: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.smtp_ca_file)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        where = f"SMTP server {s.smtp_host}:{s.smtp_port}"
        conn: smtplib.SMTP | None = None
        try:
            if s.smtp_security == "tls":
                conn = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout,
                                        context=self._context())
            else:
                conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            conn.ehlo()
            if s.smtp_security == "starttls":
                conn.starttls(context=self._context())
                conn.ehlo()
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                conn.login(s.smtp_username, password)
        except smtplib.SMTPAuthenticationError as exc:
            self._quietly_close(conn)
            reason = f"{where} refused the login: {_reply(exc.smtp_code, exc.smtp_error)}"
            if 400 <= exc.smtp_code < 500:
                raise ConnectionFailure(reason) from None
            raise SettingsRefused(reason, kind="login-refused") from None
        except smtplib.SMTPResponseException as exc:
            self._quietly_close(conn)
            reason = f"{where}: {_reply(exc.smtp_code, exc.smtp_error)}"
            if 400 <= exc.smtp_code < 500:
                raise ConnectionFailure(reason) from None
            raise SettingsRefused(reason, kind="relay-refused") from None
        except smtplib.SMTPNotSupportedError:
            self._quietly_close(conn)
            raise SettingsRefused(f"{where} does not offer STARTTLS or login", kind="relay-refused") from None
        except (OSError, smtplib.SMTPException) as exc:
            self._quietly_close(conn)
            raise ConnectionFailure(f"could not connect to {where}: {exc.__class__.__name__}: {exc}") from None
        return conn

    @staticmethod
    def _quietly_close(conn: smtplib.SMTP | None) -> None:
        if conn is None:
            return
        with contextlib.suppress(Exception):  # closing a broken connection may fail too: nothing to do
            conn.close()

    def send(self, key: str, message: EmailMessage, *, maybe_sent: bool = False) -> str:
        # SMTP offers no way to ask whether a message was taken; see the module note.
        if self._conn is None:
            self._conn = self._connect()
        try:
            refused = self._send(self._conn, message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._reset()
            raise _classify(code, text, "recipient refused", "recipient") from None
        except smtplib.SMTPSenderRefused as exc:
            self._reset()
            raise _classify(exc.smtp_code, exc.smtp_error, "sender refused", "sender") from None
        except smtplib.SMTPDataError as exc:
            self._reset()
            raise _classify(exc.smtp_code, exc.smtp_error, "message refused", "data") from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._quietly_close(self._conn)
            self._conn = None
            raise TransientFailure(f"connection lost while sending: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            self._reset()
            raise _classify(exc.smtp_code, exc.smtp_error, "server said", "data") from None
        if refused:
            code, text = next(iter(refused.values()))
            raise _classify(code, text, "recipient refused", "recipient")
        return str(message["Message-ID"])

    @staticmethod
    def _send(conn: smtplib.SMTP, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """What send_message does (the envelope from the headers, the message flattened with CRLF),
        with the bytes from wire_bytes, which writes the headers as they were checked."""
        sender, recipients = envelope(message)
        if not (sender + "".join(recipients)).isascii():
            return conn.send_message(message)  # SMTPUTF8, where the server offers it
        return conn.sendmail(sender, recipients, wire_bytes(message))

    def _reset(self) -> None:
        # After a refusal, start the next message from a clean state on the same connection.
        try:
            assert self._conn is not None
            self._conn.rset()
        except Exception:
            self._quietly_close(self._conn)
            self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except Exception:
                self._quietly_close(self._conn)
            self._conn = None
