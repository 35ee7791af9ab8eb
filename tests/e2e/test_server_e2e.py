"""Operations end to end: a real Prefect server, the deployments from deployments/prefect.yaml,
and a worker (or `copflow serve`) running them. The convenor's commands go through the server
(PREFECT_API_URL is set), and what they change is what a person would see: the CoP's stage,
the emails in the outbox, and a sponsor report sent once however often it is triggered."""

from __future__ import annotations

import json
import os
import subprocess
import time
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from flows.runtime.on_request import CLAIMED_BY
from flows.runtime.serving import read_deployments
from models.db.tables import OutboxMessage
from tests.e2e.conftest import COPFLOW, POOL, PREFECT, Server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aaot-charter.yaml"
CONVENOR = "dana@example.nhs.uk"
SPONSOR = "priya@example.nhs.uk"
MEMBERS = {"sam@example.nhs.uk", "lee@example.org", "ana@example.ac.uk"}


class Site:
    """One copflow home, used through the command line with the server's settings."""

    def __init__(self, server: Server, root: Path) -> None:
        self.server, self.root, self.home = server, root, root / "copflow-home"
        self.env = {"COPFLOW_HOME": str(self.home)}
        # In the PostgreSQL pass (make test-postgres) the site keeps its records there.
        self.database_url = f"sqlite:///{self.home / 'copflow.db'}"
        if os.environ.get("COPFLOW_TEST_POSTGRES_URL"):
            from tests.support.postgres import fresh_database

            self.database_url = fresh_database(os.environ["COPFLOW_TEST_POSTGRES_URL"])
            self.env["COPFLOW_DATABASE_URL"] = self.database_url

    def copflow(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.server.run(COPFLOW, *args, env=self.env, cwd=self.root, timeout=180)

    def ok(self, *args: str) -> str:
        done = self.copflow(*args)
        assert done.returncode == 0, f"copflow {' '.join(args)}: {done.stderr}"
        assert "not deployed" not in done.stderr, done.stderr  # it ran on the worker, not here
        return done.stdout

    def stage(self, slug: str) -> str:
        return json.loads(self.ok("community", "show", slug, "--json"))["stage"]

    def emails(self) -> list[Message]:
        return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted((self.home / "outbox").glob("*.eml"))]

    def person_id(self, email: str) -> int:
        """What the Prefect UI's run form is given for a person: their id, never their address."""
        from models.db.tables import Person

        engine = create_engine(self.database_url)
        try:
            with Session(engine) as db:
                return int(db.scalars(select(Person.id).where(Person.email == email)).one())
        finally:
            engine.dispose()

    def outbox_rows(self) -> list[OutboxMessage]:
        engine = create_engine(self.database_url)
        try:
            with Session(engine) as db:
                return list(db.scalars(select(OutboxMessage)))
        finally:
            engine.dispose()


def flow_runs(server: Server, flow: str, deployment: str) -> list[dict]:
    body = {"flows": {"name": {"any_": [flow]}}, "deployments": {"name": {"any_": [deployment]}}}
    response = httpx.post(f"{server.api_url}/flow_runs/filter", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def to(message: Message) -> set[str]:
    return {address.lower() for _, address in getaddresses([str(message["To"] or "")])}


def has_calendar_invite(message: Message) -> bool:
    return any(part.get_content_type() == "text/calendar" for part in message.walk())


def test_doctor_names_what_a_new_server_lacks_then_finds_it(prefect_server: Server, tmp_path: Path) -> None:
    # First in this module: the server has neither the work pool nor the deployments yet.
    site = Site(prefect_server, tmp_path)
    site.ok("init")
    bare = site.copflow("doctor")
    assert bare.returncode == 1
    assert f"ok   prefect: the Prefect server at {prefect_server.api_url} answers" in bare.stdout
    count = len(read_deployments())
    assert f"FAIL deployments: {count} of {count} deployments missing on the server" in bare.stderr
    assert "run: prefect deploy --prefect-file deployments/prefect.yaml --all" in bare.stderr
    assert f"FAIL work pool: no work pool '{POOL}'; create it" in bare.stderr


def test_doctor_finds_every_deployment_once_deployed(deployed: Server, tmp_path: Path) -> None:
    site = Site(deployed, tmp_path)
    site.ok("init")
    done = site.copflow("doctor")
    count = len(read_deployments())
    assert f"ok   prefect: all {count} deployments are on the server" in done.stdout, done.stdout + done.stderr


def test_a_convenor_launches_through_the_server_and_the_report_goes_once(
    deployed: Server, tmp_path: Path
) -> None:
    site = Site(deployed, tmp_path)
    site.ok("init")
    assert site.ok("community", "create", str(SAMPLE)).strip() == "aaot"

    with deployed.background("worker", PREFECT, "worker", "start", "--pool", POOL,
                             env=site.env, cwd=tmp_path) as worker:
        # The same rules about who may act hold on the worker: a sponsor never decides, even
        # when the deployment is run straight from Prefect (the UI's run form does the same).
        as_sponsor = json.dumps({"request": {"slug": "aaot", "actor_id": site.person_id(SPONSOR),
                                             "today": "2027-01-04"}})
        deployed.prefect("deployment", "run", "launch/on-request", "--params", as_sponsor,
                         "--watch", "--watch-timeout", "180", cwd=tmp_path, timeout=240)
        [refused] = flow_runs(deployed, "launch", "on-request")
        assert refused["state_type"] == "FAILED", deployed.log_tail("worker")
        assert "Refused: " in refused["state"]["message"]
        assert site.stage("aaot") == "proposed"

        # The convenor's command goes through the deployment and prints what the run did.
        launched = site.ok("launch", "aaot", "--as", CONVENOR, "--today", "2027-01-04")
        assert "aaot" in launched
        assert site.stage("aaot") == "launching"
        runs = flow_runs(deployed, "launch", "on-request")
        assert sorted(r["state_type"] for r in runs) == ["COMPLETED", "FAILED"]
        assert {r["name"] for r in runs} == {"launch: aaot"}

        invited = {address for m in site.emails() if has_calendar_invite(m) for address in to(m)}
        assert invited >= MEMBERS, invited
        assert SPONSOR not in invited  # sponsors are told the CoP exists, not asked to attend

        site.ok("session", "record", "aaot", "--on", "2027-01-14", "--attended",
                "sam@example.nhs.uk", "lee@example.org", "--as", CONVENOR, "--today", "2027-01-14")
        assert site.stage("aaot") == "active"

        # By 10 April the first quarter has ended and its report is due. `copflow report` sends
        # it through the server; then the schedule's own deployment runs twice more (as if it
        # were retried): the sponsor still gets it once.
        reported = site.ok("report", "--all", "--today", "2027-04-10")
        assert "aaot: report for" in reported and "1 sent" in reported, reported
        params = json.dumps({"request": {"today": "2027-04-10"}})
        for _ in range(2):
            run = deployed.prefect("deployment", "run", "sponsor-report/daily", "--params", params,
                                   "--watch", "--watch-timeout", "180", cwd=tmp_path, timeout=240)
            assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:] + deployed.log_tail("worker")
        ran = [r["state_type"] for r in flow_runs(deployed, "sponsor-report", "daily")
               if r["state_type"] != "SCHEDULED"]  # the scheduler also lines up the next mornings' runs
        assert ran == ["COMPLETED"] * 2
        assert [r["state_type"] for r in flow_runs(deployed, "sponsor-report", "on-request")] == ["COMPLETED"]
        assert worker.poll() is None

    reports = [row for row in site.outbox_rows() if row.template == "sponsor-report"]
    assert [(r.to_email, r.status, r.attempts) for r in reports] == [(SPONSOR, "sent", 1)]
    report_files = [m for m in site.emails() if SPONSOR in to(m) and m["Subject"] == reports[0].subject]
    assert len(report_files) == 1


def test_with_no_worker_the_run_is_cancelled_and_nothing_changes(deployed: Server, tmp_path: Path) -> None:
    site = Site(deployed, tmp_path)
    site.env["COPFLOW_PICKUP_SECONDS"] = "2"
    site.ok("init")
    site.ok("community", "create", str(SAMPLE))
    before = len(flow_runs(deployed, "launch", "on-request"))

    waited = site.copflow("launch", "aaot", "--as", CONVENOR, "--today", "2027-01-04")

    assert waited.returncode == 1
    assert waited.stderr.strip().splitlines() == [
        "copflow: no worker picked up launch/on-request within 2 s, so it was cancelled and nothing "
        "changed; start a worker for its work pool (or `copflow serve`)"
    ]
    assert site.stage("aaot") == "proposed"
    runs = flow_runs(deployed, "launch", "on-request")
    assert len(runs) == before + 1
    never_started = sorted(runs, key=lambda r: r["created"])[-1]
    assert never_started["state_type"] == "CANCELLED"
    assert never_started["name"] == "launch: aaot"  # named for its CoP though it never ran


def test_copflow_serve_runs_the_same_deployments_without_a_worker(deployed: Server, tmp_path: Path) -> None:
    # Last in this module: serve registers the deployments as its own.
    site = Site(deployed, tmp_path)
    site.ok("init")
    site.ok("community", "create", str(SAMPLE))
    earlier = {r["id"] for r in flow_runs(deployed, "launch", "on-request")}
    with deployed.background("serve", COPFLOW, "serve", env=site.env, cwd=tmp_path) as serving:
        # serve lists what it serves, schedules included, once it has registered them all
        deadline = time.monotonic() + 120
        while "health/daily" not in deployed.log_tail("serve", 200) and serving.poll() is None:
            assert time.monotonic() < deadline, deployed.log_tail("serve")
            time.sleep(0.5)
        said = site.ok("launch", "aaot", "--as", CONVENOR, "--today", "2027-01-04")
        assert serving.poll() is None, deployed.log_tail("serve")
    assert "aaot" in said and "launching" in said  # the run's own summary came back
    assert site.stage("aaot") == "launching"
    assert any(MEMBERS & to(m) for m in site.emails())
    # The convenor's run was taken at once by serve itself, not left for its next poll and a
    # new process; operations see who took it in the run's state history.
    [launch] = [r for r in flow_runs(deployed, "launch", "on-request") if r["id"] not in earlier]
    assert launch["state"]["type"] == "COMPLETED"
    states = httpx.get(f"{deployed.api_url}/flow_run_states/", params={"flow_run_id": launch["id"]}, timeout=10)
    assert any(s["type"] == "PENDING" and s["message"] == CLAIMED_BY for s in states.json()), states.text
