"""`copflow demo` as a person runs it: twice in a row, leaving an outbox, an archive and an audit trail."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from demo.scenario import EXAMPLES, load_scenario
from tasks.charter_file import load_charter

pytestmark = pytest.mark.flows

CHARTER = load_charter(EXAMPLES / "demo-charter.yaml")
SUCCESSOR = load_charter(EXAMPLES / "demo-successor-charter.yaml")
JOINED = sum(1 for s in load_scenario().steps if s.do == "join")
QUARTERS_REPORTED = 3  # the scenario's schedule sends reports on 1 April, 1 July and 1 October


def emails(outbox: Path) -> Counter[str]:
    """.eml files by kind: the file name starts with the outbox key's kind (invite_aaot_...)."""
    return Counter(p.name.partition("_")[0] for p in outbox.glob("*.eml"))


def run_demo(cli, home: Path, **env: str):  # type: ignore[no-untyped-def]
    done = cli("demo", env={"PREFECT_HOME": str(home.parent / "prefect"), **env}, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no Prefect chatter and no warnings: the story is on stdout
    return done


def test_the_demo_runs_twice_and_leaves_what_it_says(home: Path, cli,  # type: ignore[no-untyped-def]
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "mine.txt").write_text("not the demo's")
    demo = home / "demo"
    # The second run clears the demo's own folder and tells the same story. It also has a
    # Prefect server configured (nothing listens there): the demo keeps to its own local API.
    for server in ({}, {"PREFECT_API_URL": "http://127.0.0.1:9/api"}):
        out = run_demo(cli, home, **server).stdout
        assert f"Working folder: {demo}" in out and "cleared at the start of every demo run" in out
        assert ("the demo keeps to its own local" in out) == bool(server)

        sent = emails(demo / "outbox")
        members = len(CHARTER.members) + 1 + JOINED  # with the convenor and those who joined
        assert sent["invite"] == len(CHARTER.members) + len(SUCCESSOR.members)  # not the convenors
        assert sent["launch-notice"] == len(CHARTER.sponsors) + len(SUCCESSOR.sponsors)
        assert sent["handover"] == 2 * 2  # two rotations: the incoming and the outgoing lead
        assert sent["close-proposal"] >= 1 and sent["closing"] == members
        assert sent["final-report"] == len(CHARTER.sponsors)
        # Exactly one report per sponsor per quarter.
        reports = [p.name.split("_") for p in (demo / "outbox").glob("report_*.eml")]
        periods = Counter(parts[2] for parts in reports)
        assert len(periods) == QUARTERS_REPORTED
        assert set(periods.values()) == {len(CHARTER.sponsors)}
        assert f"{sum(sent.values())} .eml files" in out and str(demo / "outbox") in out

        archive = demo / "archives" / "aaot"
        assert str(archive) in out and "checksums verified" in out
        for line in (archive / "SHA256SUMS").read_text().splitlines():
            digest, name = line.split()
            assert hashlib.sha256((archive / name).read_bytes()).hexdigest() == digest
        bundle = json.loads((archive / "community.json").read_text())
        assert bundle["successor"]["slug"] == "peer-support"
        assert "@" not in (archive / "community.json").read_text()  # no contact details kept

        # The demo keeps to its own SQLite file even where a database is configured (as in CI on PostgreSQL).
        at_demo = {"COPFLOW_HOME": str(demo), "COPFLOW_DATABASE_URL": ""}
        assert f"COPFLOW_HOME={demo}" in out and "audit aaot" in out
        trail = json.loads(cli("audit", "aaot", "--json", env=at_demo).stdout)
        actions = [e["action"] for e in trail]
        assert actions.count("lead.rotated") == 2 and actions.count("tasks.handed-over") == 2
        assert "health.close-proposed" in actions and actions[-1] == "archive.written"
        closing = json.loads(cli("community", "show", "aaot", "--json", env=at_demo).stdout)
        successor = json.loads(cli("community", "show", "peer-support", "--json", env=at_demo).stdout)
        assert (closing["stage"], closing["successor"]) == ("archived", "peer-support")
        assert successor["predecessors"] == ["aaot"] and successor["stage"] == "launching"

    the_convenor_carries_on_in_the_web(demo, out, monkeypatch)
    assert (home / "mine.txt").read_text() == "not the demo's"  # only the demo's folder is cleared
    if not os.environ.get("COPFLOW_DATABASE_URL"):  # on SQLite the home's own database stays too
        assert (home / "copflow.db").exists()


def test_a_folder_the_demo_did_not_make_is_left_alone(home: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (home / "demo").mkdir()
    (home / "demo" / "notes.txt").write_text("someone's notes")
    refused = cli("demo")
    assert refused.returncode == 3
    assert refused.stderr.startswith("copflow: ") and "was not made by 'copflow demo'" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    assert (home / "demo" / "notes.txt").read_text() == "someone's notes"


def the_convenor_carries_on_in_the_web(demo: Path, out: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the demo's last words suggest, on today's real date: the demo's year is past, so its
    successor's convenor can record the session it held and rotate the lead in the web app."""
    from tasks.storage.settings import get_settings
    from tests.web import support

    convenor = "lee@example.org"
    assert f"convenor of peer-support ({convenor})" in out
    monkeypatch.setenv("COPFLOW_HOME", str(demo))
    monkeypatch.setenv("COPFLOW_DATABASE_URL", f"sqlite:///{demo / 'copflow.db'}")
    # The suite's Prefect API is configured here, so the web process stands in for a worker and
    # sends only with a transport set in its own environment, as a site would set it.
    monkeypatch.setenv("COPFLOW_EMAIL_TRANSPORT", "file")
    get_settings.cache_clear()
    held = SUCCESSOR.first_session.date() if SUCCESSOR.first_session else None
    assert held is not None and held < date.today()  # the demo's days are behind the real clock
    with support.client() as c:
        support.sign_in(c, convenor)
        form = c.get("/cops/peer-support/sessions/new")
        attended = re.findall(r'name="attended" type="checkbox" value="(\d+)"', form.text)
        recorded = c.post("/cops/peer-support/sessions/new", data={
            "csrf_token": support.csrf(form.text), "held_on": held.isoformat(), "attended": attended[:5],
            "guests": "0", "topics": "Peer roles in outreach", "consent": "private"})
        assert recorded.status_code == 200 and "Session recorded" in recorded.text, recorded.text[-800:]
        form = c.get("/cops/peer-support/decide/rotate")
        drawn = re.search(r'name="drawn" value="(\d+)"', form.text)
        assert drawn, form.text[-800:]
        rotated = c.post("/cops/peer-support/decide/rotate",
                         data={"csrf_token": support.csrf(form.text), "drawn": drawn.group(1)})
        assert rotated.status_code == 200, rotated.text[-800:]
    handovers = [p.name for p in (demo / "outbox").glob("handover_peer-support_*.eml")]
    assert len(handovers) == 2  # the incoming and the outgoing lead
