"""Who typed the command or started the run that made a change: the operator, kept in each
audit entry beside the person declared as acting (DESIGN section 2). An OS user name at the
command line, 'schedule' for a run over every CoP, nothing for a run asked for through the
Prefect UI or API. It travels to flows as a parameter, so it is never an email address."""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

SCHEDULED = "schedule"
MAX_LENGTH = 64

_operator: ContextVar[str | None] = ContextVar("copflow_operator", default=None)
# Where the person acting acts from ('web'), for a flow run the web app asked for: the audit's
# channel, as a web transaction sets it on its own session (tasks/storage/audit.py).
_channel: ContextVar[str | None] = ContextVar("copflow_channel", default=None)


def plain(name: str | None) -> str | None:
    """A user name as it may be stored and passed to Prefect: before any '@' (a directory
    login such as dana@TRUST.NHS.UK is an address), printable, short."""
    if not name:
        return None
    local = re.sub(r"[^\w.\-\\]", "?", name.split("@", 1)[0])[:MAX_LENGTH]
    return local or None


def os_user() -> str | None:
    """The OS user running this process, or None when the system cannot say."""
    try:
        return plain(getpass.getuser())
    except (OSError, KeyError, ImportError):
        return None


def at_the_terminal() -> None:
    """The command line: every change this process makes was typed by its OS user."""
    _operator.set(os_user())


def online() -> None:
    """The web app: each change is the signed-in person's own (the audit's channel says 'web'),
    not typed by whoever started the server."""
    _operator.set(None)


def current() -> str | None:
    return _operator.get()


def channel() -> str | None:
    return _channel.get()


@contextmanager
def operated_by(name: str | None, channel: str | None = None) -> Iterator[None]:
    """Changes made inside are recorded with this operator (a flow run sets its own), and with
    the channel the run was asked for from (the web app's runs say 'web')."""
    token, via = _operator.set(plain(name)), _channel.set(channel)
    try:
        yield
    finally:
        _channel.reset(via)
        _operator.reset(token)
