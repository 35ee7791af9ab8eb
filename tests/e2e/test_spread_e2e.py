"""A run's pages spread over two task workers (COPFLOW_PAGE_WORKERS, tasks/page_tasks.py): a real
Prefect server on loopback, two `prefect task serve` processes, the sponsor-report and health
flows run over every CoP. Both workers take pages, every page is done once, every email is sent
once, and nothing Prefect keeps names a person's address."""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from bench.generate import BENCH_TODAY, generate
from models.db.tables import OutboxMessage
from tasks.storage.db import engine, session_scope
from tests.e2e.conftest import PREFECT, REPO, Server
from tests.support.servers import Mailbox, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only, pytest.mark.timeout(600)]

COPS, PAGE = 12, 3  # four pages of three CoPs
DONE = re.compile(r"Task run '(\w+ page \d+):[^']*' - Finished in state (\w+)")

RUN = """
import json, sys
from datetime import date
from flows.health import HealthRequest, health
from flows.sponsor_report import ReportRequest, sponsor_report
today = date.fromisoformat(sys.argv[2])
flow = sponsor_report(request=ReportRequest(today=today)) if sys.argv[1] == "report" else health(request=HealthRequest(today=today))
print(json.dumps({"communities": len(flow.communities), "sent": flow.sent, "failed": flow.failed,
                  "queued": sum(c.queued for c in flow.communities)}))
"""

AGAIN = """
import sys
from datetime import date
from tasks.page_tasks import report_page
future = report_page.delay(sys.argv[1].split(","), run_id=sys.argv[2], number=0,
                           today=date.fromisoformat(sys.argv[3]), operator="schedule", more=2)
done = future.result(timeout=120)
print(future.state.name, done.delivered.sent)
"""


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in {"COPFLOW_EMAIL_TRANSPORT": "smtp", "COPFLOW_SMTP_HOST": "127.0.0.1",
                        "COPFLOW_SMTP_PORT": str(port), "COPFLOW_SMTP_SECURITY": "none",
                        "COPFLOW_EMAIL_FROM": "copflow@example.org"}.items():
        monkeypatch.setenv(name, value)
    yield box
    controller.stop()


def wait_subscribed(server: Server, names: list[str]) -> None:
    deadline = time.monotonic() + 120
    while not all("Subscribing to runs of task(s)" in server.log_tail(n, 200) for n in names):
        assert time.monotonic() < deadline, "\n".join(server.log_tail(n) for n in names)
        time.sleep(0.5)


def run_flow(server: Server, flow: str) -> dict[str, int]:
    done = server.run(sys.executable, "-c", RUN, flow, BENCH_TODAY.isoformat(), timeout=300,
                      env={"COPFLOW_PAGE_WORKERS": "2", "COPFLOW_PAGE_SIZE": str(PAGE)})
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def pages_taken(server: Server, workers: list[str]) -> dict[str, Counter[str]]:
    """Each worker's pages, from its log: a page done (or read back from the cache) there."""
    return {w: Counter(page for page, _ in DONE.findall(server.log_tail(w, 100_000))) for w in workers}


def task_runs(server: Server, prefix: str) -> list[dict]:
    body = {"task_runs": {"name": {"like_": prefix}}, "limit": 200}
    reply = httpx.post(f"{server.api_url}/task_runs/filter", json=body, timeout=10)
    reply.raise_for_status()
    return [r for r in reply.json() if r["name"].startswith(prefix)]


def test_two_task_workers_share_the_pages_and_every_email_goes_once(
    prefect_server: Server, home: Path, mailbox: Mailbox, tmp_path: Path
) -> None:
    generate(engine(), COPS)  # active CoPs, one quarterly report due on BENCH_TODAY, 3 sponsors each
    workers = ["pages-1", "pages-2"]
    serve = [PREFECT, "task", "serve", "--module", "tasks.page_tasks", "--limit", "1"]
    with prefect_server.background(workers[0], *serve, env={}, cwd=REPO), \
            prefect_server.background(workers[1], *serve, env={}, cwd=REPO):
        wait_subscribed(prefect_server, workers)
        report = run_flow(prefect_server, "report")
        health = run_flow(prefect_server, "health")
        taken = pages_taken(prefect_server, workers)

        # The same page asked for again in the same run (as a retried flow would) is read back
        # from Prefect's cache: nothing is done or sent twice.
        slugs = ",".join(f"cop-{i:05d}" for i in range(PAGE))
        [first] = [r for r in task_runs(prefect_server, "reports page 0") if r["state_type"] == "COMPLETED"]
        again = prefect_server.run(sys.executable, "-c", AGAIN, slugs, first["flow_run_id"],
                                   BENCH_TODAY.isoformat(), timeout=180)
    assert report == {"communities": COPS, "sent": 3 * COPS, "failed": 0, "queued": 3 * COPS}, report
    assert health["communities"] == COPS and health["failed"] == 0

    # Both workers took pages; every page of each run was taken once, by one of them.
    assert all(taken[w] for w in workers), taken
    together = taken[workers[0]] + taken[workers[1]]
    assert {p for p in together if p.startswith("reports")} == {f"reports page {i}" for i in range(COPS // PAGE)}
    assert {p for p in together if p.startswith("health")} == {f"health page {i}" for i in range(COPS // PAGE)}
    assert set(together.values()) == {1}, together

    # Every email once: what the SMTP server received is what the outbox says it sent, once each.
    with session_scope() as db:
        rows = db.execute(select(OutboxMessage.status, OutboxMessage.attempts, func.count())
                          .group_by(OutboxMessage.status, OutboxMessage.attempts)).all()
    assert [tuple(r) for r in rows] == [("sent", 1, len(mailbox.messages))], rows
    assert len(mailbox.messages) == 3 * COPS + health["sent"]
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.split() == ["Cached", str(3 * PAGE)], again.stdout
    assert len(mailbox.messages) == 3 * COPS + health["sent"]

    # Page parameters and results in Prefect's storage name CoPs by slug, never a person's address.
    storage = Path(prefect_server.env["PREFECT_HOME"]) / "storage"
    kept = [p.read_text(errors="replace") for p in storage.rglob("*") if p.is_file()]
    assert kept and not [t for t in kept if "@example" in t]


def test_a_page_whose_worker_is_killed_mid_page_is_handed_out_again_and_each_email_goes_once(
    prefect_server: Server, home: Path, mailbox: Mailbox
) -> None:
    cops = 2 * PAGE
    generate(engine(), cops)
    serve = [PREFECT, "task", "serve", "--module", "tasks.page_tasks", "--limit", "1"]
    # The first worker kills itself (SIGKILL, tasks/crashpoints.py) inside its first page's
    # transaction, one sponsor's copy queued: the run's only worker, so it has taken a page.
    doomed = {"COPFLOW_CRASH_AT": "report.queued:2"}
    flow_env = {"COPFLOW_PAGE_WORKERS": "2", "COPFLOW_PAGE_SIZE": str(PAGE),
                "COPFLOW_PAGE_LEASE_SECONDS": "20", "COPFLOW_PAGE_TRIES": "6"}
    with prefect_server.background("doomed", *serve, env=doomed, cwd=REPO) as first:
        wait_subscribed(prefect_server, ["doomed"])
        with prefect_server.background("leased-flow", sys.executable, "-c", RUN, "report",
                                       BENCH_TODAY.isoformat(), env=flow_env, cwd=REPO) as flow:
            assert first.wait(timeout=300) == -9, prefect_server.log_tail("doomed")
            with prefect_server.background("rescuer", *serve, env={}, cwd=REPO):
                assert flow.wait(timeout=400) == 0, prefect_server.log_tail("leased-flow", 60)
                runs = task_runs(prefect_server, "reports page")
    out = [line for line in prefect_server.log_tail("leased-flow", 10_000).splitlines()
           if line.startswith('{"communities"')]
    assert json.loads(out[-1]) == {"communities": cops, "sent": 3 * cops, "failed": 0, "queued": 3 * cops}

    # The lost page's run was marked Crashed by the flow and done again by the other worker.
    crashed = [r for r in runs if r["state_type"] == "CRASHED"]
    assert crashed, Counter(r["state_type"] for r in runs)
    ours = [r for r in runs if r["flow_run_id"] == crashed[0]["flow_run_id"]]
    done = {r["name"].split(":")[0] for r in ours if r["state_type"] == "COMPLETED"}
    assert done == {f"reports page {i}" for i in range(cops // PAGE)}, ours
    # Every email once: the outbox and the SMTP server agree, one attempt each.
    with session_scope() as db:
        rows = db.execute(select(OutboxMessage.status, OutboxMessage.attempts, func.count())
                          .group_by(OutboxMessage.status, OutboxMessage.attempts)).all()
    assert [tuple(r) for r in rows] == [("sent", 1, 3 * cops)], rows
    assert len(mailbox.messages) == 3 * cops
