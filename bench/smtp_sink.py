"""A real SMTP server on loopback (aiosmtpd) that counts what it accepts and keeps nothing."""

from __future__ import annotations

import socket
import threading
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages = 0
        self.recipients = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages += 1
            self.recipients += len(envelope.rcpt_tos)
        return "250 OK"

    def take(self) -> int:
        """How many messages arrived since the last call."""
        with self._lock:
            count, self.messages, self.recipients = self.messages, 0, 0
        return count


class SmtpSink:
    def __init__(self) -> None:
        self.counter = Counter()
        self.port = free_port()
        self._controller = Controller(self.counter, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def env(self) -> dict[str, str]:
        """Settings that send copflow's email here, in the clear (loopback only)."""
        return {
            "COPFLOW_EMAIL_TRANSPORT": "smtp",
            "COPFLOW_SMTP_HOST": "127.0.0.1",
            "COPFLOW_SMTP_PORT": str(self.port),
            "COPFLOW_SMTP_SECURITY": "none",
            "COPFLOW_EMAIL_FROM": "copflow@example.org",
        }
