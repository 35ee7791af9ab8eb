"""Helpers for the record-command tests: a CoP from the sample charter, row counts, a stage set by hand."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from tests.conftest import SAMPLE_CHARTER, CliRunner


@pytest.fixture(autouse=True)
def convenor_acts(monkeypatch: pytest.MonkeyPatch) -> None:
    """These commands are typed by the sample CoP's convenor, said once as COPFLOW_ACTOR (nothing
    defaults to anyone); a test that means someone else says --as, or unsets it."""
    monkeypatch.setenv("COPFLOW_ACTOR", "dana@example.nhs.uk")


@pytest.fixture
def aaot(cli: CliRunner) -> str:
    """The sample CoP, created through the command line as a convenor would."""
    done = cli("community", "create", str(SAMPLE_CHARTER), "--today", "2027-01-01")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def row_counts(home: object) -> Callable[[], dict[str, int]]:
    """Rows in every table, to show that a refused command stored nothing."""
    from models.db.tables import Base
    from tasks.storage.db import session_scope

    def count() -> dict[str, int]:
        with session_scope() as db:
            return {t.name: db.scalar(select(func.count()).select_from(t)) or 0
                    for t in Base.metadata.sorted_tables}

    return count


@pytest.fixture
def set_stage(home: object) -> Callable[[str, str], None]:
    """Put a CoP in a stage directly in the database, for flows this suite does not run."""
    from models.db.tables import Community
    from tasks.storage.db import session_scope

    def put(slug: str, stage: str) -> None:
        with session_scope() as db:
            community = db.scalars(select(Community).where(Community.slug == slug)).one()
            community.stage = stage

    return put
