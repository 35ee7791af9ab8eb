"""One schema: the Core tables (models/db/schema.py), the ORM classes and the migrations agree.

Read-only commands query the Core tables; writes go through the ORM classes mapped onto the
same tables. If a table changed in one place only, Alembic would see a difference here.
"""

from __future__ import annotations

from pathlib import Path


def test_the_migrated_database_matches_the_tables(home: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from models.db.schema import metadata
    from tasks.storage.db import engine

    with engine().connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, metadata) == []


def test_the_orm_classes_are_mapped_onto_the_core_tables() -> None:
    from sqlalchemy.orm import configure_mappers

    from models.db import schema, tables

    configure_mappers()
    assert tables.Base.metadata is schema.metadata
    mapped = {mapper.local_table for mapper in tables.Base.registry.mappers}
    assert mapped == set(schema.metadata.tables.values())
    assert tables.Community.__mapper__.version_id_col is schema.community.c.version
