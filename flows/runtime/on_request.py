"""`copflow serve` answers on-request runs at once, in its own process.

Prefect's serve looks for work every few seconds and starts a new Python process for every run:
right for the daily runs, but a convenor waiting at the command line would wait 15-20 s. So the
runs of the `on-request` deployments are claimed here as soon as they appear and run on a few
threads of this process, where Prefect and the flows are already loaded. The server records each
run as usual. A run is claimed as Prefect's own runner claims one (Scheduled to Pending), so a
run that a worker or another serve has taken is left alone.

Prefect's serve loop is not given these deployments: a server lets a finished run be claimed
again (Completed to Pending), and a second claimant holding a stale view of a run that ends in
under a second would start it again. Asking every 0.2 s costs the server a small write each time
(it marks the deployments ready). A run cancelled from the UI while it runs here is not stopped
(nothing here watches for that), and these runs see serve's settings as they were at its start.

Prefect's own quick paths were measured against this one and were slower (docs/operations.md,
section 5): its serve, even polling every 0.2 s, starts a new process per run; a task worker
(`Task.delay`) passes parameters and results through result storage. Only public client calls
claim a run; the engine's `run_flow` runs it, pinned by tests/unit/test_prefect_private_apis.py.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

log = logging.getLogger("copflow.serve")

CLAIMED_BY = "claimed by copflow serve: runs here at once"


class OnRequestRunner:
    """Polls the server for new on-request runs and runs each in this process.

    A run is claimed only when a thread is free to run it, so a run never waits here in
    Pending; the ones not yet claimed stay Scheduled on the server, visible as waiting.
    """

    def __init__(self, flows: dict[UUID, Any], poll_seconds: float = 0.2, threads: int = 4) -> None:
        self.flows = flows  # deployment id -> its flow, for the on-request deployments
        self.poll_seconds = poll_seconds
        self.threads = threads
        self.stopping = threading.Event()
        self._free = threading.Semaphore(threads)
        self._running: set[UUID] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="copflow-on-request", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Claim nothing more, and let the runs already claimed finish."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join()

    def run(self) -> None:
        from prefect.client.orchestration import get_client

        failing = False
        with get_client(sync_client=True) as client, \
                ThreadPoolExecutor(self.threads, thread_name_prefix="copflow-run") as pool:
            while not self.stopping.wait(self.poll_seconds if not failing else 5.0):
                try:
                    self.take_waiting(client, pool)
                    failing = False
                except Exception as exc:
                    if not failing:  # once per outage, not five times a second
                        log.warning("could not look for on-request runs (%s); trying again every 5 s",
                                    type(exc).__name__, exc_info=True)
                    failing = True

    def take_waiting(self, client: Any, pool: ThreadPoolExecutor) -> None:
        """Claim the waiting runs there are free threads for, and start each."""
        for flow_run, flow in self.waiting(client):
            if self.stopping.is_set() or not self._free.acquire(blocking=False):
                return
            if not self.claim(client, flow_run):
                self._free.release()
                continue
            pool.submit(self._run_claimed, flow, flow_run.id)

    def waiting(self, client: Any) -> list[tuple[Any, Any]]:
        """Scheduled runs of the on-request deployments that are due now, oldest first.

        Asking is also what tells the server these deployments are being served (ready)."""
        runs = client.get_scheduled_flow_runs_for_deployments(
            deployment_ids=list(self.flows), scheduled_before=datetime.now(UTC))
        runs = sorted(runs, key=lambda r: (r.next_scheduled_start_time is None, r.next_scheduled_start_time))
        with self._lock:
            return [(r, self.flows[r.deployment_id]) for r in runs
                    if r.deployment_id in self.flows and r.id not in self._running]

    def claim(self, client: Any, flow_run: Any) -> bool:
        """Scheduled to Pending, as Prefect's runner does; False when someone else has it.

        The server refuses (aborts) Pending over Pending or Running, and asks to wait when a
        concurrency limit is full: either way the run is not ours, and a waiting one is asked
        for again at the next look."""
        from prefect.client.schemas.responses import SetStateStatus
        from prefect.states import Pending

        answer = client.set_flow_run_state(flow_run.id, Pending(message=CLAIMED_BY))
        if answer.status is not SetStateStatus.ACCEPT:
            return False
        with self._lock:
            self._running.add(flow_run.id)
        return True

    def _run_claimed(self, flow: Any, flow_run_id: UUID) -> None:
        try:
            run_in_this_process(flow, flow_run_id)
        except BaseException as exc:
            log.warning("on-request run %s ended with an error: %s", flow_run_id, exc)
            crash_if_never_started(flow_run_id, exc)
        finally:
            with self._lock:
                self._running.discard(flow_run_id)
            self._free.release()


def crash_if_never_started(flow_run_id: UUID, exc: BaseException) -> None:
    """A claimed run that never reached Running would sit in Pending for ever: say it crashed."""
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run_id).state
            if state is not None and state.is_pending():
                client.set_flow_run_state(flow_run_id, Crashed(
                    message=f"copflow serve could not start it ({type(exc).__name__}: {exc})"), force=True)
    except Exception:
        log.warning("could not mark on-request run %s as crashed", flow_run_id, exc_info=True)


def run_in_this_process(flow: Any, flow_run_id: UUID) -> Any:
    """Run a claimed flow run here, with the parameters it was created with."""
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
    return run_flow(flow, flow_run=flow_run, return_type="state")
