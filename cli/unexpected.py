"""Turn errors that are not a user's mistake into one line and an exit code."""

from __future__ import annotations

import os


def describe(exc: Exception) -> tuple[str, int]:
    from sqlalchemy.exc import IntegrityError, OperationalError
    from sqlalchemy.orm.exc import StaleDataError

    if isinstance(exc, StaleDataError):
        return "someone else changed this CoP at the same moment; nothing was changed, try again", 3
    if isinstance(exc, IntegrityError):
        return "a concurrent change got there first; nothing was changed, try again", 3
    if isinstance(exc, OperationalError):
        text = str(exc.orig) if exc.orig else str(exc)
        if "locked" in text or "could not serialize" in text or "deadlock" in text:
            return "the database is busy with a concurrent change; nothing was changed, try again", 3
        return f"database error: {text.splitlines()[0]}", 1
    if os.environ.get("COPFLOW_DEBUG"):
        raise exc
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return f"unexpected error ({type(exc).__name__}: {first_line}); set COPFLOW_DEBUG=1 for details", 1
