"""A consistent copy of copflow's database, taken while it is in use.

A plain copy of a live SQLite file can miss what is still in its write-ahead log; SQLite's
backup API copies a consistent snapshot instead. PostgreSQL is copied by its own pg_dump.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from models.errors import BadInput, CopflowError


def backup(url: str, dest: Path) -> str:
    """Copy the database at `url` to `dest` (a new file, readable by this user only); say how."""
    if dest.exists() or dest.is_symlink():
        raise BadInput(f"{dest}: already exists; give a new file name, so no backup is overwritten")
    if not dest.parent.is_dir():
        raise BadInput(f"{dest.parent}: no such folder")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _sqlite(Path(parsed.database or ""), dest)
        return "SQLite backup API"
    if parsed.get_backend_name() == "postgresql":
        _postgres(url, dest)
        return "pg_dump (custom format; restore with pg_restore)"
    raise BadInput(f"COPFLOW_DATABASE_URL: cannot back up a {parsed.get_backend_name()} database")


def _private_temp(dest: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    os.close(fd)  # mkstemp made it 0600 and ours alone
    return Path(name)


def _sqlite(source: Path, dest: Path) -> None:
    if not source.is_file():
        raise BadInput(f"{source}: no copflow database here; nothing to back up")
    partial = _private_temp(dest)
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(partial) as out:
            src.backup(out)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)


def _postgres(url: str, dest: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise CopflowError("pg_dump is not installed on this machine; install PostgreSQL's client "
                           "tools (Debian: postgresql-client) and try again")
    parsed = make_url(url)
    env = {**os.environ, "PGPASSWORD": parsed.password or ""}  # never on the command line
    plain = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    partial = _private_temp(dest)
    try:
        done = subprocess.run([pg_dump, "--format=custom", f"--file={partial}", f"--dbname={plain}"],
                              env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise CopflowError(f"pg_dump failed: {last}")
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
