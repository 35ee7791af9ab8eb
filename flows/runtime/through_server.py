"""Run a flow through its deployment on a Prefect server, and read back what happened.

The flow runs on a worker (or under `copflow serve`); this process only asks for the run,
waits for it, and turns its final state into the same result or error as an in-process run:
a Refused raised on the worker is still one line and exit 3 here.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from models import errors
from models.errors import CopflowError

DEPLOYMENT = "on-request"
PICKUP_SECONDS_ENV = "COPFLOW_PICKUP_SECONDS"
WAIT_SECONDS_ENV = "COPFLOW_WAIT_SECONDS"

# Prefect's failed-state message: "Flow run encountered an exception: Refused: not allowed..."
_RAISED = re.compile(r"encountered an exception:\s*(?P<kind>[A-Za-z_][\w.]*):\s*(?P<text>.*)", re.S)


class NotDeployed(Exception):
    """The server has no deployment for this flow: the caller runs it in-process instead."""


@dataclass(frozen=True)
class RemoteRun:
    """What the command line reports when the flow's own result cannot be read back."""

    flow: str
    flow_run: str
    state: str

    def __str__(self) -> str:
        return f"{self.flow}: flow run '{self.flow_run}' {self.state.lower()}"


def _error_classes() -> dict[str, type[CopflowError]]:
    found: dict[str, type[CopflowError]] = {}
    pending: list[type[CopflowError]] = [CopflowError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found


def error_from_failure(flow: str, run_name: str, message: str | None) -> CopflowError:
    """The error a failed run stands for: the flow's own BadInput or Refused when it raised one."""
    match = _RAISED.search(message or "")
    if match:
        kind = match["kind"].rsplit(".", 1)[-1]
        cls = _error_classes().get(kind)
        if cls is not None:
            return cls(match["text"].strip())
        return CopflowError(
            f"{flow} failed on the worker ({kind}: {match['text'].strip()}); "
            f"see flow run '{run_name}' in the Prefect UI"
        )
    said = f": {message.strip()}" if message and message.strip() else ""
    return CopflowError(f"{flow} failed on the worker{said}; see flow run '{run_name}' in the Prefect UI")


def outcome(flow: str, run_name: str, state: Any) -> Any:
    """Turn a final state into the flow's result, or raise the error it stands for."""
    if state.is_completed():
        try:
            return state.result(raise_on_failure=False)
        except Exception:
            return RemoteRun(flow=flow, flow_run=run_name, state=state.name or "Completed")
    if state.is_failed():
        raise error_from_failure(flow, run_name, state.message)
    if state.is_crashed():
        raise CopflowError(
            f"{flow} crashed on the worker ({(state.message or 'no reason given').strip()}); "
            f"see flow run '{run_name}' in the Prefect UI"
        )
    if state.is_cancelled() or state.is_cancelling():
        raise CopflowError(f"{flow}: flow run '{run_name}' was cancelled before it finished")
    raise CopflowError(f"{flow}: flow run '{run_name}' ended as {state.name}")


def _seconds(env: str, default: float) -> float:
    raw = os.environ.get(env)
    if raw is None:
        return default
    try:
        return max(float(raw), 0.0)
    except ValueError:
        raise errors.BadInput(f"{env}: '{raw}' is not a number of seconds") from None


def _cancel_if_still_waiting(client: Any, flow_run_id: Any) -> bool:
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled

    run = client.read_flow_run(flow_run_id)
    if run.state is not None and run.state.type is not StateType.SCHEDULED:
        return False  # a worker has it (pending or further on): let it finish
    result = client.set_flow_run_state(flow_run_id, Cancelled(message="no worker picked it up"))
    return bool(result.status.value == "ACCEPT")


def run_through_server(flow: str, request: BaseModel) -> Any:
    """Trigger `<flow>/on-request` with this request, wait for it, and return its outcome.

    Raises NotDeployed when the server has no such deployment.
    """
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import FlowRun, StateType
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    pickup = _seconds(PICKUP_SECONDS_ENV, 60.0)
    wait = _seconds(WAIT_SECONDS_ENV, 600.0)
    name = f"{flow}/{DEPLOYMENT}"
    try:
        run: FlowRun = run_deployment(  # type: ignore[assignment]  # sync here: not awaited
            name,
            parameters={"request": request.model_dump(mode="json")},
            timeout=0,
            as_subflow=False,
            # Named now, as the flow names its runs (flows/_compose.run_name): a run no worker
            # ever starts is still "launch: aaot" in the UI, not a random name.
            flow_run_name=f"{flow}: {getattr(request, 'slug', None) or 'all'}",
            tags=["copflow-cli"],
        )
    except ObjectNotFound:
        raise NotDeployed(name) from None
    except httpx.HTTPError as exc:
        from prefect.settings import PREFECT_API_URL

        raise CopflowError(
            f"cannot reach the Prefect server at {PREFECT_API_URL.value()} ({type(exc).__name__}); "
            "start it, or unset PREFECT_API_URL to run here"
        ) from None

    started = time.monotonic()
    interval = 0.1
    with get_client(sync_client=True) as client:
        while True:
            current = client.read_flow_run(run.id)
            state = current.state
            if state is not None and state.is_final():
                return outcome(flow, current.name, state)
            waited = time.monotonic() - started
            not_started = state is None or state.type is StateType.SCHEDULED
            if not_started and waited > pickup and _cancel_if_still_waiting(client, run.id):
                raise CopflowError(
                    f"no worker picked up {name} within {pickup:g} s, so it was cancelled and "
                    "nothing changed; start a worker for its work pool (or `copflow serve`)"
                )
            if waited > wait:
                raise CopflowError(
                    f"flow run '{current.name}' is still {((state.name if state else None) or 'waiting').lower()} "
                    f"after {wait:g} s; it carries on, watch it in the Prefect UI"
                )
            time.sleep(interval)
            interval = min(interval * 1.5, 0.5)
