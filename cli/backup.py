"""`copflow backup DEST`: a consistent copy of the database, safe to take while copflow runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import say


def backup(
    dest: Annotated[Path, typer.Argument(metavar="DEST", help="A new file to write the copy to.")],
) -> None:
    """A consistent copy of the database (SQLite's backup API, or pg_dump for PostgreSQL)."""
    from tasks.storage.backup import backup as take_backup
    from tasks.storage.paths import database_url

    how = take_backup(database_url(), dest)
    say(f"database copied to {dest} ({how}); docs/operations.md says how to restore it")
