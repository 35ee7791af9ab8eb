"""`copflow serve` answers on-request runs at once, in its own process.

Prefect's serve looks for work every few seconds and starts a new Python process for every run:
right for the daily runs, but a convenor waiting at the command line would wait 15-20 s. So the
runs of the `on-request` deployments are claimed here as soon as they appear and run on a few
threads of this process, where Prefect and the flows are already loaded. The server records each
run as usual. A run is claimed as Prefect's own runner claims one (Scheduled to Pending), so a
run that a worker or another serve has taken is left alone, and one left unclaimed here is still
picked up by the ordinary serve loop.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from cli.through_server import DEPLOYMENT

log = logging.getLogger("copflow.serve")

CLAIMED_BY = "claimed by copflow serve: runs here at once"


class OnRequestRunner:
    """Polls the server for new on-request runs and runs each in this process."""

    def __init__(self, flows: dict[str, Any], poll_seconds: float = 0.2, threads: int = 4) -> None:
        self.flows = flows  # flow name -> flow object, for the on-request deployments
        self.poll_seconds = poll_seconds
        self.threads = threads
        self.stopping = threading.Event()
        self._deployments: dict[UUID, Any] = {}
        self._running: set[UUID] = set()
        self._lock = threading.Lock()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="copflow-on-request", daemon=True)
        thread.start()
        return thread

    def run(self) -> None:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client, \
                ThreadPoolExecutor(self.threads, thread_name_prefix="copflow-run") as pool:
            while not self.stopping.wait(self.poll_seconds):
                try:
                    for flow_run, flow in self.waiting(client):
                        if self.claim(client, flow_run):
                            pool.submit(self._run_claimed, flow, flow_run.id)
                except Exception:  # noqa: BLE001 - a server hiccup must not end the loop
                    log.warning("could not look for on-request runs; trying again", exc_info=True)

    def waiting(self, client: Any) -> list[tuple[Any, Any]]:
        """Scheduled runs of the on-request deployments that are due now, oldest first."""
        from prefect.types._datetime import now

        if len(self._deployments) < len(self.flows):
            self._find_deployments(client)
        if not self._deployments:
            return []
        runs = client.get_scheduled_flow_runs_for_deployments(
            deployment_ids=list(self._deployments), scheduled_before=now("UTC"))
        runs = sorted(runs, key=lambda r: (r.next_scheduled_start_time is None, r.next_scheduled_start_time))
        with self._lock:
            return [(r, self._deployments[r.deployment_id]) for r in runs
                    if r.deployment_id in self._deployments and r.id not in self._running]

    def _find_deployments(self, client: Any) -> None:
        from prefect.exceptions import ObjectNotFound

        known = set(self._deployments.values())
        for name, flow in self.flows.items():
            if flow in known:
                continue
            try:
                deployment = client.read_deployment_by_name(f"{name}/{DEPLOYMENT}")
            except ObjectNotFound:
                continue  # serve has not registered it yet
            self._deployments[deployment.id] = flow

    def claim(self, client: Any, flow_run: Any) -> bool:
        """Scheduled to Pending, as Prefect's runner does; False when someone else has it."""
        from prefect.exceptions import Abort
        from prefect.states import Pending
        from prefect.utilities.engine import propose_state_sync

        try:
            state = propose_state_sync(client, Pending(message=CLAIMED_BY), flow_run_id=flow_run.id)
        except Abort:
            return False
        if not state.is_pending():
            return False
        with self._lock:
            self._running.add(flow_run.id)
        return True

    def _run_claimed(self, flow: Any, flow_run_id: UUID) -> None:
        try:
            run_in_this_process(flow, flow_run_id)
        except BaseException:  # noqa: BLE001 - the run's own state and logs say what went wrong
            log.debug("on-request run %s ended with an error", flow_run_id, exc_info=True)
        finally:
            with self._lock:
                self._running.discard(flow_run_id)


def run_in_this_process(flow: Any, flow_run_id: UUID) -> Any:
    """Run a claimed flow run here, with the parameters it was created with."""
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
    return run_flow(flow, flow_run=flow_run, return_type="state")
