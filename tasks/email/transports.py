"""Transports deliver one built message. Each says whether a failure is worth retrying."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from tasks.email.message import wire_bytes


class TransientFailure(Exception):
    """Worth retrying later: connection refused, SMTP 4xx, HTTP 429 or 5xx."""


class ConnectionFailure(TransientFailure):
    """The transport itself is unreachable (or refuses our login): stop the batch, retry later."""


class PermanentFailure(Exception):
    """Retrying will not help this message: SMTP 5xx about it (an unknown mailbox), HTTP 400
    about its recipient. `kind` names the class of reason for logs and events (no address)."""

    def __init__(self, reason: str, kind: str = "message-refused") -> None:
        super().__init__(reason)
        self.kind = kind


class SettingsRefused(PermanentFailure):
    """Refused for a reason about the site's settings, not this message (the sender, the login,
    the API key or template): every other message would meet the same refusal, so the batch
    stops and the rest are held until an operator fixes the settings and resends them."""


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
    """The embedded default: one .eml file per message in the outbox folder, readable by
    copflow's user alone (0600, in a 0700 folder no one else can write in)."""

    name = "file"

    def __init__(self, folder: Path) -> None:
        from tasks.storage.paths import check_private, private_folder

        self.folder = private_folder(folder, "the outbox folder")
        if folder.parent != folder:  # the home holding it: whoever can write there could swap it
            check_private(folder.parent, "the folder holding the outbox")

    def path_for(self, key: str) -> Path:
        """A readable prefix, then a hash of the exact key: two keys never share a file
        (first+tag@ and first_tag@ read alike, and hash apart)."""
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:100]
        return self.folder / f"{readable}.{hashlib.sha256(key.encode()).hexdigest()[:16]}.eml"

    def send(self, key: str, message: EmailMessage, *, maybe_sent: bool = False) -> str:
        # The file name is the key: a message already written is not written again.
        path = self.path_for(key)
        if not (path.exists() and not path.is_symlink()):
            write_privately(path, wire_bytes(message, "\n"))  # what bytes(message) writes
        return str(path)

    def close(self) -> None:
        pass


def write_privately(path: Path, body: bytes) -> None:
    """Write a whole file (0600) or none: into a new temporary file of a private, unguessable
    name beside it (mkstemp: O_CREAT | O_EXCL | O_NOFOLLOW), then renamed over the path, which
    replaces a link there rather than following it."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
