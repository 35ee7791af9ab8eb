"""Alembic environment: the engine comes from copflow's settings (tasks.storage.db)."""

from alembic import context

from models.db.schema import metadata as target_metadata

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from tasks.storage.db import engine as default_engine

        engine = default_engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
