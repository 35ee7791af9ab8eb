"""COPFLOW_DATABASE_URL, checked once: a URL SQLAlchemy can open, or one line saying what is wrong."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from models.errors import BadInput

# Heroku and many hosting guides write postgres://; SQLAlchemy 2 knows only postgresql.
POSTGRES_SCHEMES = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg",
                    "postgresql+psycopg": "postgresql+psycopg"}
EXAMPLES = "sqlite:////path/to/copflow.db or postgresql://user@host/dbname"


@lru_cache(maxsize=8)
def checked_url(url: str) -> str:
    """The URL SQLAlchemy is given: postgres:// and postgresql:// use psycopg 3."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise BadInput(f"COPFLOW_DATABASE_URL is not a database URL; expected {EXAMPLES}") from None
    if parsed.drivername == "sqlite":
        if not parsed.database:
            raise BadInput(f"COPFLOW_DATABASE_URL names no SQLite file; expected {EXAMPLES}")
        return url
    driver = POSTGRES_SCHEMES.get(parsed.drivername)
    if driver is None:
        raise BadInput(f"COPFLOW_DATABASE_URL: copflow stores its data in SQLite or PostgreSQL, "
                       f"not {parsed.drivername!r}; expected {EXAMPLES}")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed: URL = make_url(url)
    if parsed.drivername != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def shown(url: str) -> str:
    """The URL as it may be printed: never its password."""
    path = sqlite_path(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)
