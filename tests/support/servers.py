"""Real servers on loopback for the email tests: SMTP (aiosmtpd) and a GOV.UK Notify stand-in."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1, made at test time (never committed)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and can misbehave on cue."""

    messages: list[Message] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # address -> reply, e.g. "550 ..."
    data_replies: list[str] = field(default_factory=list)  # next DATA replies, e.g. "451 ..."
    drop_next: int = 0  # drop the connection mid-message this many times
    connections: int = 0
    refuse_sender: str | None = None  # the reply to every MAIL FROM, e.g. "550 5.7.60 ..."
    senders: list[str] = field(default_factory=list)  # every MAIL FROM address, as given

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        self.senders.append(address)
        if self.refuse_sender is not None:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.drop_next:
            self.drop_next -= 1
            server.transport.abort()
            return "250 OK"
        if self.data_replies:
            return self.data_replies.pop(0)
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in str(m["To"])]


class Authenticator:
    def __init__(self, login: str, password: str) -> None:
        self.login, self.password, self.tls_seen = login.encode(), password.encode(), []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        self.tls_seen.append(session.ssl is not None)
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.login
              and auth_data.password == self.password)
        return AuthResult(success=ok, handled=False)


# --- GOV.UK Notify stand-in ---------------------------------------------------------------

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"copflow_test-{SERVICE_ID}-{SECRET}"
TEMPLATE_ID = "f33517ff-2a88-4f6e-b855-c550268ce08a"


class NotifyServer:
    """Checks the JWT and payload like Notify does; keeps the notifications it creates."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self.replies: list[tuple[int, bool]] = []  # next POST replies: (status, create anyway)
        self.refuse: dict[str, int] = {}  # email address -> status (400/403)
        self.auth_failures: list[str] = []
        self.lookups: list[str] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                header = self.headers.get("Authorization", "")
                try:
                    token = header.removeprefix("Bearer ")
                    claims = jwt.decode(token, SECRET, algorithms=["HS256"],
                                        options={"require": ["iss", "iat"]})
                    if claims["iss"] != SERVICE_ID or abs(time.time() - claims["iat"]) > 30:
                        raise jwt.InvalidTokenError("bad iss or iat")
                except jwt.PyJWTError as exc:
                    server.auth_failures.append(str(exc))
                    self._reply(403, {"status_code": 403, "errors": [
                        {"error": "AuthError", "message": "Invalid token"}]})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                url = urlparse(self.path)
                ref = parse_qs(url.query).get("reference", [""])[0]
                server.lookups.append(ref)
                found = [n for n in server.notifications if n["reference"] == ref]
                self._reply(200, {"notifications": found, "links": {}})

            def do_POST(self) -> None:
                if not self._authorised():
                    return
                if self.path != "/v2/notifications/email":
                    self._reply(404, {"errors": [{"error": "NotFound", "message": self.path}]})
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                expected = {"email_address", "template_id", "personalisation", "reference"}
                if set(body) != expected or set(body["personalisation"]) != {"subject", "body"} \
                        or body["template_id"] != TEMPLATE_ID:
                    self._reply(400, {"errors": [{"error": "ValidationError", "message": "bad payload"}]})
                    return
                if body["email_address"] in server.refuse:
                    status = server.refuse[body["email_address"]]
                    self._reply(status, {"status_code": status, "errors": [
                        {"error": "BadRequestError", "message": "Can't send to this recipient"}]})
                    return
                with server.lock:
                    status, create = server.replies.pop(0) if server.replies else (201, True)
                    if create:
                        note = {"id": str(uuid.uuid4()), **body}
                        server.notifications.append(note)
                if status != 201:
                    self._reply(status, {"status_code": status, "errors": [
                        {"error": "Error", "message": "Internal server error"}]})
                    return
                self._reply(201, {"id": note["id"], "reference": body["reference"],
                                  "content": {"subject": body["personalisation"]["subject"]}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> NotifyServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def to(self, address: str) -> list[dict[str, Any]]:
        return [n for n in self.notifications if n["email_address"] == address]
