"""Operations are told, end to end: the automations in deployments/automations.yaml installed on a
real Prefect server, a worker whose relay refuses copflow's sender, and what a new operator then
sees: the run Completed with warnings, the relay's words in the run's log, a copflow.email.held
event that fires the automation, every email held rather than lost; and after the fix and
`copflow outbox resend --held`, each delivered once."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import POOL, PREFECT, Server
from tests.e2e.test_server_e2e import SAMPLE, Site, flow_runs
from tests.support.servers import Mailbox, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

CONVENOR = "dana@example.nhs.uk"
SEND_AS = "550 5.7.60 SMTP; Client does not have permissions to send as this sender"
NAMES = {"copflow: an email failed or is held", "copflow: a flow run failed",
         "copflow: a scheduled run did not start"}


def api(server: Server, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{server.api_url}{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def automations(server: Server) -> list[dict[str, Any]]:
    return [a for a in api(server, "/automations/filter", {}) if a["name"] in NAMES]


def events(server: Server, *names: str, wait: float = 60) -> list[dict[str, Any]]:
    """Events of these names on the server (waiting for the first: they are stored in batches)."""
    deadline = time.monotonic() + wait
    while True:
        found = api(server, "/events/filter", {"filter": {"event": {"name": list(names)}}, "limit": 50})["events"]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


def test_the_automations_install_from_the_file_and_again_without_duplicates(deployed: Server) -> None:
    made = deployed.prefect("automation", "create", "--from-file", "deployments/automations.yaml")
    assert made.returncode == 0, made.stdout + made.stderr
    assert sorted(a["name"] for a in automations(deployed)) == sorted(NAMES)
    again = deployed.run(sys.executable, "-m", "flows.runtime.automations")
    assert again.returncode == 0, again.stderr
    assert sorted(a["name"] for a in automations(deployed)) == sorted(NAMES)  # replaced, not doubled


def run_logs(server: Server, run_id: str, wanted: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """A run's logs once the wanted line is among them: the run's process ships its logs in
    batches, the last as it exits, so they may land a little after its final state."""
    deadline = time.monotonic() + 60
    while True:
        logs: list[dict[str, Any]] = api(server, "/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}})
        if any(wanted(log) for log in logs) or time.monotonic() > deadline:
            return logs
        time.sleep(0.5)


def test_a_wrong_sender_is_held_shown_and_alerted_then_resent_once(deployed: Server, tmp_path: Path) -> None:
    if not automations(deployed):
        deployed.run(sys.executable, "-m", "flows.runtime.automations")
    mailbox, port = Mailbox(refuse_sender=SEND_AS), free_port()
    relay = Controller(mailbox, hostname="127.0.0.1", port=port)
    relay.start()
    site = Site(deployed, tmp_path)
    worker_env = {**site.env, "COPFLOW_EMAIL_TRANSPORT": "smtp", "COPFLOW_SMTP_HOST": "127.0.0.1",
                  "COPFLOW_SMTP_PORT": str(port), "COPFLOW_SMTP_SECURITY": "none",
                  "COPFLOW_EMAIL_FROM": "copflow@example.nhs.uk", "COPFLOW_SEND_BACKOFF_SECONDS": "0.05"}
    try:
        site.ok("init")
        site.ok("community", "create", str(SAMPLE))
        with deployed.background("alerts-worker", PREFECT, "worker", "start", "--pool", POOL,
                                 env=worker_env, cwd=tmp_path):
            launched = site.copflow("launch", "aaot", "--as", CONVENOR, "--today", "2027-01-04")
            assert launched.returncode == 0, launched.stderr + deployed.log_tail("alerts-worker")
            assert "held" in launched.stderr and "copflow outbox resend --held" in launched.stderr

            rows = site.outbox_rows()
            assert rows and {r.status for r in rows} == {"held"} and mailbox.messages == []
            [run] = [r for r in flow_runs(deployed, "launch", "on-request") if r["name"] == "launch: aaot"
                     and r["state"]["name"] == "Completed with warnings"]
            logs = run_logs(deployed, run["id"], lambda log: log["name"] == "copflow.email" and "5.7.60" in
                            log["message"])
            assert any(log["name"] == "copflow.email" and "5.7.60" in log["message"] for log in logs), logs
            assert all("@example" not in log["message"] for log in logs)

            [held] = events(deployed, "copflow.email.held")
            assert held["payload"]["reason"] == "sender-refused" and held["payload"]["count"] == len(rows)
            assert "@" not in json.dumps(held["payload"])
            [alert] = [a for a in automations(deployed) if "email" in a["name"]]
            fired = events(deployed, "prefect.automation.triggered")
            assert any(e["resource"]["prefect.resource.id"] == f"prefect.automation.{alert['id']}"
                       for e in fired), fired

            # The operator fixes the sender and resends; the next run for the CoP delivers.
            mailbox.refuse_sender = None
            resent = site.ok("outbox", "resend", "--held", "--why", "sender fixed")
            assert f"{len(rows)} emails queued again" in resent
            site.ok("report", "aaot", "--today", "2027-01-05")
    finally:
        relay.stop()
    delivered = Counter(str(m["X-Copflow-Key"]) for m in mailbox.messages)
    after = site.outbox_rows()
    assert {r.status for r in after} == {"sent"} and all(delivered[r.key] == 1 for r in after)
    assert sum(delivered.values()) == len(after)
