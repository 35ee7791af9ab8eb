"""Concurrent changes to one CoP queue behind each other on SQLite and on PostgreSQL.

A stage change reads the CoP with get_community(for_update=True); a second writer that starts
while the first holds that lock must see the first one's result, not a stale copy.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_CHARTER


def _create_sample() -> None:
    from tasks.charter_file import load_charter
    from tasks.storage.db import session_scope
    from tasks.usecases.communities import create_community

    with session_scope() as db:
        create_community(db, load_charter(SAMPLE_CHARTER), date(2027, 1, 1))


def test_second_writer_waits_for_the_first_and_sees_its_change(home: Path) -> None:
    from tasks.storage.db import session_scope
    from tasks.storage.queries import get_community

    _create_sample()
    first_holds_lock = threading.Event()
    seen_by_second: list[str] = []
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with session_scope() as db:
                community = get_community(db, "aaot", for_update=True)
                first_holds_lock.set()
                # Hold the lock long enough for the second writer to be waiting on it.
                threading.Event().wait(0.5)
                community.stage = "launching"
        except BaseException as exc:
            errors.append(exc)
            first_holds_lock.set()

    def second() -> None:
        first_holds_lock.wait(10)
        try:
            with session_scope() as db:
                community = get_community(db, "aaot", for_update=True)
                seen_by_second.append(community.stage)
                community.stage = "active"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert seen_by_second == ["launching"]
    with session_scope() as db:
        community = get_community(db, "aaot")
        assert (community.stage, community.version) == ("active", 3)


def test_a_stale_copy_cannot_overwrite_a_newer_change(home: Path) -> None:
    """Optimistic locking: the loser of a race changes nothing (the CLI exits 3)."""
    from sqlalchemy.orm.exc import StaleDataError

    from tasks.storage.db import session_scope
    from tasks.storage.queries import get_community

    _create_sample()
    with session_scope() as db:
        stale = get_community(db, "aaot")
    with session_scope() as db:
        get_community(db, "aaot").stage = "launching"
    with pytest.raises(StaleDataError), session_scope() as db:
        mine = db.merge(stale, load=False)
        mine.stage = "active"
    with session_scope() as db:
        assert get_community(db, "aaot").stage == "launching"


def test_two_launches_at_once_one_goes_ahead_and_the_other_is_refused_cleanly(home: Path) -> None:
    """The second waits for the first's lock, then sees 'launching' and refuses in plain words."""
    from models.errors import Refused
    from tasks.storage.db import session_scope
    from tasks.storage.queries import get_community
    from tasks.usecases.launch import launch

    _create_sample()
    convenor = "dana@example.nhs.uk"
    first_launched = threading.Event()
    outcomes: list[object] = []

    def first() -> None:
        try:
            with session_scope() as db:
                launch(db, "aaot", actor=convenor, today=date(2027, 1, 2), flow_run_id=None)
                first_launched.set()
                threading.Event().wait(0.5)  # still holding the CoP's row
            outcomes.append("launched")
        except BaseException as exc:
            first_launched.set()
            outcomes.append(exc)

    def second() -> None:
        first_launched.wait(10)
        try:
            with session_scope() as db:
                launch(db, "aaot", actor=convenor, today=date(2027, 1, 2), flow_run_id=None)
            outcomes.append("launched")
        except BaseException as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes[0] == "launched"
    assert isinstance(outcomes[1], Refused) and "already launching" in str(outcomes[1])
    with session_scope() as db:
        assert get_community(db, "aaot").stage == "launching"
