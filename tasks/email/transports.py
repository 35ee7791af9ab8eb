"""Transports deliver one built message. Each says whether a failure is worth retrying."""

from __future__ import annotations

import os
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol


class TransientFailure(Exception):
    """Worth retrying later: connection refused, SMTP 4xx, HTTP 429 or 5xx."""


class ConnectionFailure(TransientFailure):
    """The transport itself is unreachable (or refuses our login): stop the batch, retry later."""


class PermanentFailure(Exception):
    """Retrying will not help: SMTP 5xx, HTTP 400 or 403."""


class Transport(Protocol):
    name: str

    def send(self, key: str, message: EmailMessage, *, maybe_sent: bool = False) -> str:
        """Deliver the message; return the transport's reference for it.

        maybe_sent: an earlier attempt may have got through; check first where the
        transport can tell.
        """
        ...

    def close(self) -> None: ...


class FileTransport:
    """The embedded default: one .eml file per message in the outbox folder."""

    name = "file"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        return self.folder / (re.sub(r"[^A-Za-z0-9._-]+", "_", key) + ".eml")

    def send(self, key: str, message: EmailMessage, *, maybe_sent: bool = False) -> str:
        # The file name is the key: a message already written is not written again.
        path = self.path_for(key)
        if not path.exists():
            # Write then rename, so a crash never leaves half a message behind.
            tmp = path.with_suffix(".eml.tmp")
            tmp.write_bytes(bytes(message))
            os.replace(tmp, path)
        return str(path)

    def close(self) -> None:
        pass
