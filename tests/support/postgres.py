"""A fresh, empty PostgreSQL database per test, in the cluster scripts/with-postgres.sh starts."""

from __future__ import annotations

import uuid

import psycopg
from sqlalchemy.engine import make_url


def fresh_database(base_url: str, template: str | None = None) -> str:
    """Create a uniquely named database in the cluster at base_url and return its URL; a copy of
    the database named `template` (which nothing may be connected to) when given."""
    url = make_url(base_url)
    name = f"copflow_test_{uuid.uuid4().hex[:16]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    return url.set(database=name).render_as_string(hide_password=False)
