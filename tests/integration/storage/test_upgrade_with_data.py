"""An upgrade of a database that holds a CoP's life: every migration since the first runs on real
rows, with foreign keys between them (SQLite refuses to rebuild a table others point at unless
the migration turns its checks off while it runs)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import SAMPLE_CHARTER


@pytest.mark.skipif(bool(os.environ.get("COPFLOW_TEST_POSTGRES_URL")),
                    reason="SQLite's table rebuilds are what this checks")
def test_every_migration_runs_over_a_life_already_recorded(home: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from models.db.tables import Attendance, Community
    from tasks.charter_file import load_charter
    from tasks.storage.db import MIGRATIONS, engine, session_scope, upgrade
    from tasks.usecases.communities import create_community
    from tasks.usecases.launch import launch
    from tasks.usecases.sessions import record_session

    convenor = "dana@example.nhs.uk"
    with session_scope() as db:
        slug = create_community(db, load_charter(SAMPLE_CHARTER), date(2027, 1, 1)).slug
    with session_scope() as db:
        launch(db, slug, actor=convenor, today=date(2027, 1, 4), flow_run_id=None)
    with session_scope() as db:
        record_session(db, slug, held_on=date(2027, 1, 14), attended=[convenor, "sam@example.nhs.uk"],
                       format=None, topics=["Referrals"], actor=convenor, today=date(2027, 1, 14))
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine()
    command.downgrade(cfg, "0001")  # back to the first schema, rows and all
    upgrade()  # then every migration again, over those rows
    with session_scope() as db:
        assert db.scalar(select(Community.stage).where(Community.slug == slug)) == "active"
        assert db.scalar(select(func.count()).select_from(Attendance)) == 2
