"""Drill 2: races. Twenty `copflow close | rotate | continue` commands on one CoP, each in its own
process, released at the same moment: the stage ends in one legal state, one of each conflicting
pair wins, every loser exits 3 with one clear line, and the audit trail has one entry per real
change. Runs on SQLite, and on PostgreSQL when COPFLOW_TEST_POSTGRES_URL is set (the `home`
fixture then gives each test a fresh PostgreSQL database).

The racers run the real command line (cli.app.main: precheck, error mapping, exit codes) with
each flow's use case and delivery run in-process (tests/drills/driver.py), since a Prefect
start-up per racer would spread them over minutes; the last test races two full `copflow close`
runs through Prefect to prove the flow path maps the loser to exit 3 too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from models.db.tables import Community
from tests.conftest import COPFLOW, REPO
from tests.drills import support as s
from tests.drills.tally import DRILLS

DAY = date(2027, 5, 3)
DECIDERS = [s.CONVENOR, s.PLANNER, "ana@example.ac.uk"]


@dataclass
class Racer:
    args: list[str]
    code: int = -1
    out: str = ""
    err: str = ""

    @property
    def command(self) -> str:
        return self.args[0]


def race(tmp: Path, commands: list[list[str]]) -> list[Racer]:
    """Every command in its own process (forked from one loaded driver), released at once."""
    go, spec, results = tmp / f"go-{time.monotonic_ns()}", tmp / "race.json", tmp / "results.json"
    spec.write_text(json.dumps({"go": str(go), "commands": commands, "results": str(results)}))
    parent = subprocess.Popen([sys.executable, "-m", "tests.drills.driver", "fork-race", str(spec)],
                              cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not Path(f"{go}.ready").exists():
        assert time.monotonic() < deadline and parent.poll() is None, parent.communicate()
        time.sleep(0.02)
    go.touch()
    _, err = parent.communicate(timeout=300)
    assert parent.returncode == 0, err
    racers = [Racer(args, r["code"], r["out"], r["err"])
              for args, r in zip(commands, json.loads(results.read_text()), strict=True)]
    DRILLS.race(len(racers))
    return racers


def check_codes(racers: list[Racer]) -> None:
    for r in racers:
        assert r.code in (0, 3), f"{r.args}: exit {r.code}: {r.err}"
        if r.code == 3:
            lines = r.err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("copflow: "), f"{r.args}: {r.err!r}"
            assert "Traceback" not in r.err and r.out == ""
            concurrent = "concurrent" in r.err or "same moment" in r.err
            DRILLS.counts["race losers told of a concurrent change" if concurrent
                          else "race losers refused by the new stage"] += 1
        else:
            assert r.err == "", f"{r.args}: {r.err!r}"


def actions(slug: str) -> list[str]:
    return [e.action for e in s.stage_and_audit(slug)[1]]


def changes(slug: str, to: str) -> int:
    return sum(1 for e in s.stage_and_audit(slug)[1]
               if e.action == "stage.changed" and (e.after or {}).get("stage") == to)


def check_mail_once(home: Path) -> None:
    rows = s.outbox_rows()
    assert len({r.key for r in rows}) == len(rows)
    assert [r.key for r in rows if r.status != "sent"] == []
    files = s.eml_files(home)
    assert set(files) == {r.key for r in rows}


def version(slug: str) -> int:
    return s.read(lambda db: db.scalar(select(Community.version).where(Community.slug == slug)))


def test_twenty_closes_one_wins(home: Path, tmp_path: Path) -> None:
    s.active_cop("aaot")
    s.deliver_everything()
    racers = race(tmp_path, [["close", "aaot", "--as", DECIDERS[i % 3], "--reason", f"reason {i}",
                              "--today", str(DAY)] for i in range(20)])
    check_codes(racers)
    winners = [r for r in racers if r.code == 0]
    assert len(winners) == 1, [(r.args, r.code, r.err) for r in racers]
    assert s.check_stage_matches_audit("aaot") == "closing"
    assert changes("aaot", "closing") == 1
    notices = s.outbox_rows("closing-notice")
    assert sorted(r.to_email for r in notices) == sorted(s.MEMBERS)
    reason = winners[0].args[winners[0].args.index("--reason") + 1]
    for notice in notices:  # the winner's words, nobody else's
        why = [line for line in notice.text_body.splitlines() if line.startswith("Why now")]
        assert len(why) == 1 and why[0].endswith(f": {reason}"), why
    check_mail_once(home)


def test_twenty_mixed_close_rotate_continue_end_in_one_legal_state(home: Path, tmp_path: Path) -> None:
    s.closing_cop("aaot")
    s.deliver_everything()
    before = len(actions("aaot"))
    day = "2027-05-06"
    kinds = ["continue"] * 8 + ["close"] * 6 + ["rotate"] * 6
    commands = []
    for i, kind in enumerate(kinds):
        args = [kind, "aaot", "--as", DECIDERS[i % 3], "--today", day]
        commands.append(args + (["--reason", "we are done after all"] if kind == "close" else []))
    racers = race(tmp_path, commands)
    check_codes(racers)
    stage = s.check_stage_matches_audit("aaot")  # one legal state, a legal chain to it
    assert stage in ("active", "closing")
    won = {k: sum(1 for r in racers if r.code == 0 and r.command == k) for k in ("continue", "close")}
    rotated = [r for r in racers if r.code == 0 and "now leads planning" in r.out]
    entries = s.stage_and_audit("aaot")[1][before:]
    moves = [(e.after or {}).get("stage") for e in entries if e.action == "stage.changed"]
    # One audit entry per real change: each winning continue or close moved the stage once,
    # alternately (the chain check above proves each move started where the last one ended).
    assert moves.count("active") == won["continue"] >= 1
    assert moves.count("closing") == won["close"] in (won["continue"], won["continue"] - 1)
    assert [e.action for e in entries].count("lead.rotated") == len(rotated) <= 1
    # Everyone heard of every change: a notice per member for each close and each continue.
    assert len(s.outbox_rows("continuing-notice")) == len(s.MEMBERS) * won["continue"]
    assert len(s.outbox_rows("closing-notice")) == len(s.MEMBERS) * (1 + won["close"])
    check_mail_once(home)


def test_twenty_rotations_make_one_rotation(home: Path, tmp_path: Path) -> None:
    s.active_cop("aaot")
    s.deliver_everything()
    lead_before = [e for e in s.stage_and_audit("aaot")[1] if e.action == "lead.chosen"]
    racers = race(tmp_path, [["rotate", "aaot", "--as", DECIDERS[i % 3], "--today", "2027-05-04"]
                             for i in range(20)])
    check_codes(racers)
    rotated = [r for r in racers if r.code == 0 and "now leads planning" in r.out]
    repeats = [r for r in racers if r.code == 0 and "already changed today" in r.out]
    assert len(rotated) == 1 and len(rotated) + len(repeats) + sum(r.code == 3 for r in racers) == 20
    assert actions("aaot").count("lead.rotated") == 1 and lead_before
    handovers = s.outbox_rows("handover-pack")
    assert len(handovers) == 2  # the incoming and the outgoing lead, once each
    check_mail_once(home)


@pytest.mark.flows
def test_two_real_copflow_closes_through_prefect_one_exits_3(home: Path, prefect_harness: None) -> None:
    """The full command, flow and all: the loser's one line and exit 3 survive the Prefect path."""
    from prefect.settings import get_current_settings

    s.active_cop("aaot")
    s.deliver_everything()
    env = {**os.environ, "PREFECT_API_URL": str(get_current_settings().api.url)}
    procs = [subprocess.Popen([COPFLOW, "close", "aaot", "--as", who, "--reason", "the work is done",
                               "--today", str(DAY)], env=env, cwd=home.parent, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for who in (s.CONVENOR, s.PLANNER)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 3], results
    loser = next(err for code, _, err in results if code == 3)
    # The harness's server has no deployments: the command says so in a note, then runs here.
    lines = [line for line in loser.strip().splitlines() if not line.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("copflow: ") and "Traceback" not in loser, loser
    assert changes("aaot", "closing") == 1 and s.check_stage_matches_audit("aaot") == "closing"
    DRILLS.race(2)
