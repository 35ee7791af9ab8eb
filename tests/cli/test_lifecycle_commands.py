"""A lifecycle command as a person runs it: a short summary, and no Prefect chatter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.lifecycle import CONVENOR, create, outbox, stage

pytestmark = pytest.mark.flows


def test_launch_from_the_command_line_prints_a_summary_and_nothing_else(home: Path, cli) -> None:  # type: ignore[no-untyped-def]
    slug = create()
    own_prefect = {"PREFECT_HOME": str(home / "prefect")}  # the command starts its own local server
    (home / "prefect").mkdir(parents=True, exist_ok=True)  # on PostgreSQL no database file made home
    done = cli("launch", slug, "--as", CONVENOR, "--today", "2027-01-04", env=own_prefect)
    assert done.returncode == 0, done.stderr
    # Prefect's console logs stay out of the person's terminal; one line says a server was started.
    [started] = done.stderr.splitlines()
    assert started.startswith("copflow: started a local Prefect server at http://127.0.0.1:"), started
    assert done.stdout.splitlines() == [
        "aaot is launching: 3 invitations and 1 sponsor notice queued",  # the convenor is not invited
        "email: 4 sent, 0 failed, 0 to retry",
    ]
    assert stage(slug) == "launching" and len(outbox()) == 4
    again = cli("launch", slug, "--as", CONVENOR)
    assert (again.returncode, again.stderr) == (3, "copflow: aaot is already launching; the invitations went out then\n")
