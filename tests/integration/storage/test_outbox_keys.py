"""An outbox key queues one email, once, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from models.db.tables import OutboxMessage


def test_the_same_key_twice_queues_one_email_and_says_so(home: Path) -> None:
    from tasks.email.outbox import Recipient, enqueue
    from tasks.rendering import RenderedEmail
    from tasks.storage.db import session_scope

    email = RenderedEmail(subject="Your sponsor report", text="Figures", html="<p>Figures</p>")
    answers = []
    for _ in range(2):
        with session_scope() as db:
            answers.append(enqueue(db, key="report:aaot:2027-01-01:priya@example.nhs.uk",
                                   community=None, template="sponsor-report",
                                   to=Recipient("Priya Raman", "priya@example.nhs.uk"), email=email,
                                   today=date(2027, 4, 1)))
    with session_scope() as db:
        rows = db.scalar(select(func.count()).select_from(OutboxMessage))
    assert answers == [True, False]
    assert rows == 1


def test_a_failing_statement_does_not_quote_the_address_it_carried(home: Path) -> None:
    """An error's text can end in a Prefect task's state and logs: it names no value."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from models.db.tables import Person
    from tasks.storage.db import session_scope

    with session_scope() as db:
        db.add(Person(name="Priya Raman", email="priya@example.nhs.uk"))
    with pytest.raises(IntegrityError) as failed, session_scope() as db:  # the address is unique
        db.add(Person(name="Priya Raman", email="priya@example.nhs.uk"))
        db.flush()
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(failed.value)
    assert "priya@example.nhs.uk" not in str(failed.value)


def test_the_databases_own_words_about_a_duplicate_address_name_no_address(home: Path) -> None:
    """PostgreSQL's DETAIL line repeats a duplicate key (`Key (email)=(...) already exists`): masked
    in the error, in the driver's error it was raised from, and in the driver's diagnostics."""
    import traceback

    import pytest
    from sqlalchemy.exc import IntegrityError

    from models.db.tables import Person
    from tasks.storage.db import session_scope

    with session_scope() as db:
        db.add(Person(name="Priya Raman", email="priya@example.nhs.uk"))
    with pytest.raises(IntegrityError) as failed, session_scope() as db:
        db.add(Person(name="Priya Raman", email="priya@example.nhs.uk"))
        db.flush()
    error = failed.value
    diag = getattr(error.orig, "diag", None)  # psycopg's; sqlite3 has none
    told = [str(error), str(error.orig), "".join(traceback.format_exception(error)),
            str(getattr(diag, "message_detail", ""))]
    assert [t for t in told if "priya@example.nhs.uk" in t] == []
    assert "person" in str(error)  # still says which table refused the row
