"""The read-only commands stay fast: they load neither Prefect nor the settings machinery,
nor the ORM (they read with SQLAlchemy Core) nor pydantic (typer 0.29 would: see constraints).

A user notices a half-second pause on `community show`; most of it is module loading, so the
guard here is on what gets loaded (times are measured by `make bench`, never asserted).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("prefect", "pydantic_settings", "alembic", "jinja2", "rich", "email_validator", "httpx",
         "sqlalchemy.orm", "models.db.tables", "pydantic")

PROBE = f"""
import json, sys
from cli.app import main
code = main(sys.argv[1:])
print(json.dumps({{"code": code, "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}), file=sys.stderr)
"""


def _loaded_by(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          timeout=120)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    return report["loaded"]


@pytest.mark.parametrize("args", [
    ("community", "show", "aaot"),
    ("community", "show", "aaot", "--json"),
    ("community", "list"),
    ("audit", "aaot"),
    ("health", "aaot", "--stored", "--json"),
    ("outbox",),
])
def test_read_only_commands_load_no_heavy_modules(cli, args: tuple[str, ...]) -> None:
    from tests.conftest import SAMPLE_CHARTER

    assert cli("community", "create", str(SAMPLE_CHARTER)).returncode == 0
    assert _loaded_by(*args) == []


def test_the_database_url_is_read_the_same_way_as_the_settings(home: Path, monkeypatch) -> None:
    from tasks.storage.paths import database_url
    from tasks.storage.settings import Settings

    assert database_url() == Settings().db_url
    monkeypatch.setenv("COPFLOW_DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    assert database_url() == Settings().db_url == "sqlite:////tmp/elsewhere.db"
    monkeypatch.delenv("COPFLOW_DATABASE_URL")
    monkeypatch.delenv("COPFLOW_HOME")
    monkeypatch.setenv("copflow_home", str(home / "lower"))
    assert database_url() == Settings().db_url
    assert database_url().endswith("/lower/copflow.db")


def test_health_stored_shows_the_latest_check_and_changes_nothing(cli, home: Path) -> None:
    from datetime import date

    from sqlalchemy import func, select

    from models.db.tables import AuditEntry, Community, HealthRecord, OutboxMessage
    from tasks.storage.db import session_scope
    from tests.conftest import SAMPLE_CHARTER

    assert cli("community", "create", str(SAMPLE_CHARTER)).returncode == 0
    with session_scope() as db:
        cop = db.scalar(select(Community.id).where(Community.slug == "aaot"))
        for day, signals in ((date(2027, 3, 1), ["rotation-due"]), (date(2027, 3, 2), [])):
            db.add(HealthRecord(community_id=cop, on_date=day, figures={"sessions_held": 4},
                                signals=signals, flow_run_id=None))

    def counts() -> tuple[int, int, int]:
        with session_scope() as db:
            return tuple(db.scalar(select(func.count()).select_from(t))  # type: ignore[return-value]
                         for t in (AuditEntry, OutboxMessage, HealthRecord))

    before = counts()
    done = cli("health", "aaot", "--stored", "--json")
    assert done.returncode == 0, done.stderr
    assert [(c["checked_on"], c["signals"]) for c in json.loads(done.stdout)] == [("2027-03-02", [])]
    text = cli("health", "aaot", "--stored")
    assert text.stdout.splitlines()[0] == "aaot: all well (checked on 2 March 2027)"
    assert counts() == before
