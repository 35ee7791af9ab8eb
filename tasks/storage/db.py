"""The database: one engine per URL, sessions as context managers, Alembic upgrades."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import ExceptionContext

from models.errors import BadInput
from models.masking import masked_database_error
from tasks.storage.database_url import checked_url, shown, sqlite_path
from tasks.storage.paths import database_url, home, private_folder
from tasks.storage.revisions import check_revision, refuse_newer, stored_revisions

if TYPE_CHECKING:  # the ORM loads only when a session is opened: read-only commands use Core
    from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "copflow_read_only"  # an execution option: this connection only reads
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    """One engine per URL. Its errors never quote a statement's values (hide_parameters): the
    text of an error can reach a Prefect task's state and logs, and the values are addresses."""
    url = checked_url(url)
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            private_database(path)
        engine = create_engine(url, connect_args={"timeout": 30}, pool_pre_ping=False, hide_parameters=True)

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
        def _begin(conn):  # type: ignore[no-untyped-def]
            # A writer takes the write lock at the start, so concurrent writers queue instead of
            # deadlocking; a reader takes none (WAL gives it a snapshot), so it never waits on a writer.
            reading = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

        return masking_errors(engine)
    return masking_errors(create_engine(url, pool_pre_ping=True, hide_parameters=True))


def masking_errors(engine: Engine) -> Engine:
    """The engine's errors mask what the database repeats of a row (PostgreSQL's DETAIL line:
    `Key (email)=(a@b.org) already exists`): hide_parameters keeps out only the statement's values."""
    event.listen(engine, "handle_error", _mask_error)
    return engine


def _mask_error(context: ExceptionContext) -> None:
    # In place: SQLAlchemy raises its error `from` the driver's, so both are read in a traceback.
    for error in (context.original_exception, context.sqlalchemy_exception):
        if error is not None:
            error.args = tuple(masked_database_error(a) if isinstance(a, str) else a for a in error.args)
    _mask_diagnostic(context.original_exception)


def _mask_diagnostic(error: BaseException) -> None:
    """psycopg keeps the server's whole report on its error (diag), and pickles it with it."""
    diag = getattr(error, "diag", None)
    if diag is None or getattr(error, "_info", None) is None:
        return
    from psycopg.pq import DiagnosticField

    report = {f: getattr(diag, f.name.lower(), None) for f in DiagnosticField}
    error._info = {f: masked_database_error(v).encode() for f, v in report.items() if v is not None}  # type: ignore[attr-defined]


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
    with _sessionmaker(engine())() as session, session.begin():
        yield session


@contextmanager
def read_scope() -> Iterator[Connection]:
    """A Core connection in one read-only transaction: no ORM to load, no lock to wait for."""
    with engine().connect() as connection:
        connection = connection.execution_options(**{READ_ONLY: True})
        with connection.begin():
            yield connection


def insert_if_absent(db: Session, table: Any, values: dict[str, Any], *, unique: list[str]) -> bool:
    """INSERT ... ON CONFLICT (unique) DO NOTHING, on SQLite and PostgreSQL; True if inserted."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    # On the Core table, with the values as parameters: SQLAlchemy compiles the statement once,
    # and the ORM's bulk-insert machinery (a few ms a row) is not involved.
    core = getattr(table, "__table__", table)
    stmt = insert(core).on_conflict_do_nothing(index_elements=unique)
    # RETURNING, not rowcount: with psycopg a skipped row's rowcount can read -1 (i.e. "true").
    return db.execute(stmt.returning(*core.primary_key.columns), values).first() is not None


def upgrade() -> None:
    """Create or upgrade the schema with Alembic."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine()
    with engine().connect() as connection:  # Alembic's own error names no cause a person can act on
        refuse_newer(stored_revisions(connection.execution_options(**{READ_ONLY: True})))
    command.upgrade(cfg, "head")


def require_schema() -> None:
    """A database made by `copflow init`, at the migration this copflow knows; else one line.

    A SQLite file that is not there is named, not created: a mistyped path makes nothing."""
    url = checked_url(database_url())
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise BadInput(f"no copflow database at {path}; run 'copflow init' first, "
                       "or set COPFLOW_HOME or COPFLOW_DATABASE_URL to where it is")
    with engine().connect() as connection:  # a look at the schema takes no write lock
        connection = connection.execution_options(**{READ_ONLY: True})
        if not inspect(connection).has_table("community"):
            raise BadInput(f"no copflow database in {shown(url)}; run 'copflow init' first")
        check_revision(connection)
