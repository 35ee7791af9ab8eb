"""Each test's fresh copflow database starts as a copy of one migrated once per test process (a
file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL): running every migration again
for each of some 650 tests cost ~0.1 s of CPU and a dozen fsyncs a test on SQLite, and over a
second a test on PostgreSQL, in each pass. The copy is the migrations' own result, made by them."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.postgres import fresh_database


def migrated_template(root: Path) -> str:
    """A database migrated to head, in root (SQLite) or the test cluster (PostgreSQL); its URL."""
    from tasks.storage.db import engine, upgrade
    from tasks.storage.settings import get_settings

    base = os.environ.get("COPFLOW_TEST_POSTGRES_URL")
    url = fresh_database(base) if base else f"sqlite:///{root / 'copflow.db'}"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("COPFLOW_HOME", str(root))
        monkeypatch.setenv("COPFLOW_DATABASE_URL", url)
        get_settings.cache_clear()
        upgrade()
        engine().dispose()  # PostgreSQL copies a template only when no one is connected to it
    get_settings.cache_clear()
    if not base:  # everything in the main file, nothing left in a write-ahead log
        with sqlite3.connect(root / "copflow.db") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    return url


def database_from(template: str, home: Path) -> str | None:
    """A new database copied from the template: on PostgreSQL its URL; on SQLite None, the copy
    being home's own copflow.db (0600, as copflow makes it)."""
    base = os.environ.get("COPFLOW_TEST_POSTGRES_URL")
    if base:
        return fresh_database(base, template=make_url(template).database)
    source = make_url(template).database
    assert source is not None
    fd = os.open(home / "copflow.db", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
        shutil.copyfileobj(src, out)
    return None
