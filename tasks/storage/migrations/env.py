"""Alembic environment: the engine comes from copflow's settings (tasks.storage.db)."""

from alembic import context
from sqlalchemy import Connection

from models.db.schema import metadata as target_metadata

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from tasks.storage.db import engine as default_engine

        engine = default_engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration copies a table and drops the old one, which SQLite refuses while
            # other tables' rows point at it and foreign keys are on: off for the migration only
            # (Alembic's advice for SQLite), checked and on again after. Set outside a transaction.
            _pragma(connection, "PRAGMA foreign_keys=OFF")
        try:
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=sqlite)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if sqlite:
                _pragma(connection, "PRAGMA foreign_keys=ON")


def _pragma(connection: Connection, statement: str) -> None:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


run_migrations_online()
