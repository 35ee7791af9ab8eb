"""Prefect's own stores get ids and slugs, never an address (DESIGN 6a).

A CoP's whole life is run through the `copflow` command (which resolves each --as and
--attended address to a person id before any flow starts), with results persisted as the
deployments persist them. Then Prefect's own database is read, table by table (flow-run
parameters, task runs, states, events, artifacts, logs), and the result files on disk:
no row or file written in this test holds an '@', or any test person's address.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.lifecycle import CONVENOR, SPONSOR, create

pytestmark = pytest.mark.flows

PEOPLE = ["dana@example.nhs.uk", "sam@example.nhs.uk", "lee@example.org", "ana@example.ac.uk", SPONSOR]


def copflow(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    from cli.app import main

    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def prefect_rows(since: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of Prefect's database created since `since`, by table."""
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    path = str(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).split("///", 1)[1]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {}
        for table in tables:
            columns = [r[1] for r in db.execute(f"PRAGMA table_info('{table}')")]
            # An event is stored when its batch arrives, which can be after this test began for an
            # earlier test's events (seen under load): an event's own time says whose it is.
            when = "occurred" if "occurred" in columns else "created" if "created" in columns else None
            if when:
                rows[table] = db.execute(f"SELECT * FROM '{table}' WHERE {when} >= ?", (since,)).fetchall()  # noqa: S608 - names from sqlite_master
    return rows


def wait_for_events(since: str, at_least: int) -> dict[str, list[tuple[Any, ...]]]:
    """Events reach the database in batches: wait (a while, not for ever) for this test's."""
    deadline = time.monotonic() + 60
    while True:
        rows = prefect_rows(since)
        changed = [r for r in rows.get("events", []) if "copflow.community.stage-changed" in map(str, r)]
        if len(changed) >= at_least or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def test_a_whole_life_leaves_no_address_in_prefect(home: Path, prefect_harness: None,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, PREFECT_RESULTS_PERSIST_BY_DEFAULT, temporary_settings

    import flows.runtime.dispatch as dispatch

    since = datetime.now(UTC).isoformat(sep=" ")[:19]
    monkeypatch.delenv("COPFLOW_ACTOR", raising=False)
    # Run each flow here against the harness, even where another test left an on-request
    # deployment on it that no worker serves.
    monkeypatch.setattr(dispatch, "server_url", lambda: None)
    slug = create()
    storage = Path(PREFECT_LOCAL_STORAGE_PATH.value())
    before = set(storage.rglob("*")) if storage.exists() else set()
    dana = ["--as", CONVENOR]
    with temporary_settings(updates={PREFECT_RESULTS_PERSIST_BY_DEFAULT: True}):  # as the deployments do
        copflow(capsys, "launch", slug, *dana, "--today", "2027-01-04")
        copflow(capsys, "session", "record", slug, "--on", "2027-01-14", "--attended", *PEOPLE[:4],
                *dana, "--today", "2027-01-14")
        copflow(capsys, "rotate", slug, "--as", "sam@example.nhs.uk", "--today", "2027-01-15")
        copflow(capsys, "health", slug, "--today", "2027-02-01")
        copflow(capsys, "report", slug, "--today", "2027-04-01")
        copflow(capsys, "close", slug, "--reason", "the work is done", *dana, "--today", "2027-04-02")
        copflow(capsys, "continue", slug, "--as", "sam@example.nhs.uk", "--today", "2027-04-03")
        copflow(capsys, "close", slug, "--reason", "done for good", *dana, "--today", "2027-04-04")
        copflow(capsys, "archive", slug, "--now", *dana, "--today", "2027-04-05")
        copflow(capsys, "rotate", "--all", "--today", "2027-04-06")
        copflow(capsys, "archive", "--all", "--today", "2027-04-06")

    rows = wait_for_events(since, at_least=6)
    assert len(rows["flow_run"]) >= 11 and rows["artifact"] and rows["task_run"]
    changes = [r for r in rows["events"] if "copflow.community.stage-changed" in map(str, r)]
    assert len(changes) >= 6, "the stage-change events never reached Prefect's database"
    assert rows["event_resources"], "the events' resources were not read"
    assert any('"actor_id": ' in str(r) for r in changes)  # who acted, by id
    found = [(table, str(row)) for table, table_rows in rows.items() for row in table_rows
             if "@" in str(row) or any(p in str(row) for p in PEOPLE)]
    assert not found, found[:3]
    written = [p for p in set(storage.rglob("*")) - before if p.is_file()] if storage.exists() else []
    assert not [p for p in written if b"@" in p.read_bytes()]
