"""The portfolio and fidelity read a page of CoPs in a fixed number of statements: no N+1.

Counted with SQLAlchemy's cursor events on the real engine (SQLite here, PostgreSQL under
`make test-postgres`): the count does not grow with the CoPs, only with the pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from tasks.storage import fidelity as storage
from tasks.storage.db import engine, read_scope
from tasks.usecases.fidelity import fidelity_of
from tasks.usecases.planning_tasks import add_task
from tasks.usecases.portfolio import portfolio
from tests.conftest import SAMPLE_CHARTER
from tests.support.lifecycle import CONVENOR, DAY0, EVERYONE, active, create, hold_session, in_db

TODAY = date(2027, 6, 1)


def add_cops(first: int, last: int) -> None:
    """CoPs numbered first..last-1, each launched, with sessions and a planning task."""
    text = SAMPLE_CHARTER.read_text()
    for i in range(first, last):
        slug = active(create(text.replace("slug: aaot", f"slug: cop{i:03d}")), EVERYONE)
        hold_session(slug, DAY0 + timedelta(days=40), EVERYONE, stories=["A case that changed a visit"])
        in_db(add_task, slug, title="Book a room", due=DAY0, notes=None, actor=CONVENOR, today=DAY0)


@contextmanager
def counting() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA")):
            statements.append(statement)

    event.listen(engine(), "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine(), "before_cursor_execute", count)


def statements_for_portfolio() -> int:
    with read_scope() as db, counting() as statements:
        view = portfolio(db, TODAY)
    assert all(row["sessions_held"] == 2 for row in view["communities"])
    return len(statements)


def test_the_portfolio_asks_the_same_few_questions_for_3_cops_as_for_15(home: Path) -> None:
    add_cops(0, 3)
    few = statements_for_portfolio()
    add_cops(3, 15)
    assert statements_for_portfolio() == few <= 13  # the list of CoPs, then twelve per page
    assert len(in_db(lambda db: fidelity_of(db.connection(), None, TODAY))) == 15


def test_statements_grow_with_pages_not_with_cops(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_cops(0, 12)
    one_page = statements_for_portfolio()
    monkeypatch.setattr(storage, "PAGE_SIZE", 5)
    import tasks.usecases.fidelity as usecase

    monkeypatch.setattr(usecase, "PAGE_SIZE", 5)
    assert statements_for_portfolio() == one_page + 2 * (one_page - 1)  # three pages of five or fewer
