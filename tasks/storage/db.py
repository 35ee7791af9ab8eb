"""The database: one engine per URL, sessions as context managers, Alembic upgrades."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, inspect

from models.errors import BadInput
from tasks.storage.paths import database_url, home, private_folder

if TYPE_CHECKING:  # the ORM loads only when a session is opened: read-only commands use Core
    from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            private_database(Path(path))
        engine = create_engine(url, connect_args={"timeout": 30}, pool_pre_ping=False)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # WAL lets readers run beside one writer; foreign keys are off by default in SQLite.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn):  # type: ignore[no-untyped-def]
            # Take the write lock at the start so concurrent writers queue instead of deadlocking.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def private_database(path: Path) -> None:
    """A SQLite file readable by copflow's user alone, in a folder no one else can write in.

    The file is made 0600 before SQLite opens it (SQLite gives its -wal and -shm files the
    database file's mode); one left readable by an older copflow is made private.
    """
    default = path.resolve() == (home() / "copflow.db").resolve()
    private_folder(path.parent, "COPFLOW_HOME" if default else "the database folder")
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600))
        return
    except FileExistsError:
        pass
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            info = file.stat()
        except FileNotFoundError:
            continue
        if info.st_uid == os.geteuid() and info.st_mode & 0o077:
            file.chmod(0o600)


def engine() -> Engine:
    # Only the URL is needed here: no pydantic-settings on the read-only commands' path.
    return engine_for(database_url())


@lru_cache(maxsize=4)
def _sessionmaker(eng: Engine) -> sessionmaker[Session]:
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(eng, expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with _sessionmaker(engine())() as session:
        with session.begin():
            yield session


@contextmanager
def read_scope() -> Iterator[Connection]:
    """A Core connection in one transaction, for reads: no ORM to load or configure."""
    with engine().begin() as connection:
        yield connection


def upgrade() -> None:
    """Create or upgrade the schema with Alembic."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine()
    command.upgrade(cfg, "head")


def require_schema() -> None:
    if not inspect(engine()).has_table("community"):
        raise BadInput("no copflow database here; run 'copflow init' first")
