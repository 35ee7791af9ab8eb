"""`copflow doctor`: is this machine ready to run copflow? One line per check, exit 1 if any fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from models.errors import CopflowError
from models.text import visible


def _settings() -> str:
    from tasks.storage.settings import get_settings

    s = get_settings()
    return f"settings: valid (home {s.home}, email {s.email_transport})"


def _database() -> str:
    from tasks.storage.database_url import shown
    from tasks.storage.db import require_schema
    from tasks.storage.paths import database_url

    require_schema()
    return f"database: {shown(database_url())} is at this copflow's migration"


def _secrets() -> str:
    from tasks.email_tasks import with_secret_blocks
    from tasks.storage.settings import get_settings

    s = get_settings()
    blocks = [b for b in (s.smtp_password_block, s.notify_api_key_block) if b]
    if not blocks:
        return "secrets: none named in Prefect blocks"
    try:
        with_secret_blocks(s)
    except Exception as exc:  # Prefect raises ValueError, ObjectNotFound or an HTTP error here
        raise CopflowError(f"a Secret block named in the settings cannot be read ({type(exc).__name__})") from None
    return f"secrets: {', '.join(blocks)} resolve"


def _email() -> str:
    from tasks.email.readiness import transport_ready
    from tasks.email_tasks import with_secret_blocks
    from tasks.storage.settings import get_settings

    return f"email: {transport_ready(with_secret_blocks(get_settings()))}"


def _archive() -> str:
    from tasks.archive.stores import archive_store_ready

    return f"archive: {archive_store_ready()}"


def _prefect(check: str) -> Callable[[], str]:
    def run() -> str:
        from flows.runtime import checks

        return f"prefect: {getattr(checks, check)()}"

    return run


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("settings", _settings), ("database", _database), ("secrets", _secrets), ("email", _email),
    ("archive", _archive), ("prefect server", _prefect("server_answers")),
    ("deployments", _prefect("deployments_present")), ("work pool", _prefect("work_pool_ready")),
]


def _one(name: str, check: Callable[[], str]) -> tuple[bool, str]:
    try:
        return True, check()
    except CopflowError as exc:
        return False, f"{name}: {exc}"
    except Exception as exc:  # a doctor reports what it found; it does not stop at the first fault
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return False, f"{name}: {type(exc).__name__}{': ' + first if first else ''}"


def doctor() -> None:
    """Check the settings, the database and its version, email, the archive store's library, and
    the Prefect server, deployments and work pool; one line each, and exit 1 if any check fails."""
    failed = 0
    for name, check in CHECKS:
        ok, line = _one(name, check)
        failed += not ok
        typer.echo(f"{'ok  ' if ok else 'FAIL'} {visible(line)}", err=not ok)
        if name == "settings" and not ok:
            break  # every later check reads the settings
    if failed:
        raise typer.Exit(1)


def register(app: Any) -> None:
    app.command("doctor")(doctor)
