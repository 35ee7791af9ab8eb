"""`copflow serve`'s quick path for on-request runs, against the harness's real Prefect API:
a run is claimed once, run in this process with the parameters it was created with, and a run
something else has already taken is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.launch import launch
from flows.runtime.on_request import CLAIMED_BY, OnRequestRunner, run_in_this_process
from tests.support.lifecycle import CONVENOR, DAY0, SPONSOR, create, pid, stage

pytestmark = pytest.mark.flows


def _on_request_launch() -> OnRequestRunner:
    deployment = launch.to_deployment(name="on-request")
    return OnRequestRunner({deployment.apply(): launch})


def _request_launch(runner: OnRequestRunner, slug: str, actor: str = CONVENOR):  # type: ignore[no-untyped-def]
    from prefect.deployments import run_deployment

    [deployment_id] = runner.flows
    return run_deployment(deployment_id, timeout=0, as_subflow=False, parameters={
        "request": {"slug": slug, "actor_id": pid(actor), "today": DAY0.isoformat()}})


def test_a_waiting_run_is_claimed_once_and_runs_here(prefect_harness: None, home: Path) -> None:
    from prefect.client.orchestration import get_client

    slug = create()
    runner = _on_request_launch()
    requested = _request_launch(runner, slug)
    with get_client(sync_client=True) as client:
        [(flow_run, flow)] = [w for w in runner.waiting(client) if w[0].id == requested.id]
        assert flow is launch
        assert runner.claim(client, flow_run)
        assert not runner.claim(client, flow_run)  # a second claimant (another serve) is refused
        assert [w for w in runner.waiting(client) if w[0].id == requested.id] == []
        state = run_in_this_process(flow, flow_run.id)
        assert state.is_completed(), state
        assert stage(slug) == "launching"
        history = client.read_flow_run_states(flow_run.id)
    assert [s.type.value for s in history] == ["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"]
    assert history[1].message == CLAIMED_BY


def test_a_run_already_taken_elsewhere_is_left_alone(prefect_harness: None, home: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Pending

    slug = create()
    runner = _on_request_launch()
    requested = _request_launch(runner, slug)
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(requested.id, Pending(message="taken by a worker"))
        assert [w for w in runner.waiting(client) if w[0].id == requested.id] == []
        assert not runner.claim(client, client.read_flow_run(requested.id))
    assert stage(slug) == "proposed"


def test_the_loop_runs_a_request_and_stops_after_it(prefect_harness: None, home: Path) -> None:
    import time

    from prefect.client.orchestration import get_client

    slug = create()
    runner = _on_request_launch()
    runner.poll_seconds = 0.05
    runner.start()
    try:
        requested = _request_launch(runner, slug)
        deadline = time.monotonic() + 60
        with get_client(sync_client=True) as client:
            while not (state := client.read_flow_run(requested.id).state).is_final():
                assert time.monotonic() < deadline, state
                time.sleep(0.1)
    finally:
        runner.stop()
    assert state.is_completed(), state
    assert stage(slug) == "launching"
    assert not runner._thread.is_alive()


def test_a_claimed_run_that_cannot_start_is_marked_crashed(prefect_harness: None, home: Path) -> None:
    from prefect.client.orchestration import get_client

    from flows.runtime.on_request import crash_if_never_started

    slug = create()
    runner = _on_request_launch()
    requested = _request_launch(runner, slug)
    with get_client(sync_client=True) as client:
        assert runner.claim(client, client.read_flow_run(requested.id))
        crash_if_never_started(requested.id, ConnectionError("server went away"))
        state = client.read_flow_run(requested.id).state
    assert state.is_crashed() and "could not start it" in state.message
    assert stage(slug) == "proposed"


def test_a_refusal_run_here_reads_back_as_the_same_refusal(prefect_harness: None, home: Path) -> None:
    # The command line reads the flow's own error back from Prefect's failed-state message
    # ("Flow run encountered an exception: Refused: ..."), a format Prefect does not document.
    from prefect.client.orchestration import get_client

    from flows.runtime.through_server import outcome
    from models.errors import Refused

    slug = create()
    runner = _on_request_launch()
    requested = _request_launch(runner, slug, actor=SPONSOR)
    with get_client(sync_client=True) as client:
        assert runner.claim(client, client.read_flow_run(requested.id))
    state = run_in_this_process(launch, requested.id)
    assert state.is_failed(), state
    with pytest.raises(Refused) as refused:
        outcome("launch", requested.name, state)
    assert str(refused.value) and "Flow run" not in str(refused.value)
    assert stage(slug) == "proposed"
