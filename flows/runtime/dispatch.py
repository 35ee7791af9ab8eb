"""Run a lifecycle flow for a CLI command: through its deployment, or in this process.

Flow names and their entrypoints; each flow takes one pydantic parameter, `request`.
With a Prefect server (PREFECT_API_URL) that has the flow deployed, the command triggers the
deployment and reports the run's outcome; otherwise it runs the flow here, as before.
Either way the flow applies the same rules about who may act.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel

FLOWS: dict[str, str] = {
    "launch": "flows.launch:launch",
    "rotate": "flows.rotate:rotate",
    "health": "flows.health:health",
    "close": "flows.close:close",
    "continue": "flows.continue_:continue_community",
    "archive": "flows.archive:archive",
    "record-session": "flows.session:record_session",
    "plan-session": "flows.plan_session:plan_session",
    "sponsor-report": "flows.sponsor_report:sponsor_report",
    "withdraw": "flows.withdraw:withdraw",
    "step-down": "flows.step_down:step_down",
}


def load_flow(name: str) -> Any:
    module, _, attr = FLOWS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def server_url() -> str | None:
    """The Prefect API this process talks to, if one is configured (env or Prefect profile)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def run_flow(name: str, request: BaseModel) -> Any:
    """Run the named flow (through the server when it is deployed there) and return its result."""
    if name not in FLOWS:
        raise KeyError(name)
    request = keep_text(request)
    if server_url():
        from flows.runtime.through_server import NotDeployed, run_through_server

        try:
            return run_through_server(name, request)
        except NotDeployed as missing:
            print(f"note: {missing} is not deployed on the Prefect server; running it here",
                  file=sys.stderr)
    return run_here(name, request)


def run_here(name: str, request: BaseModel, *, return_state: bool = False) -> Any:
    """Run the flow in this process (its run still recorded by the API, a server's or copflow's local one).

    Without heartbeats: they tell a server that a worker's long run is still alive, while this
    run lives and ends with the command the person is watching, and stopping the heartbeat
    thread at the end of a run costs up to a second.

    With a server configured, this process stands in for its worker: it delivers email only with
    the transport the site configured here too, else leaves it queued for the worker
    (tasks/email/readiness.py).

    return_state: the run's final state instead of its result (the web app links to the run).
    """
    from tasks.email.readiness import standing_in_for_the_worker

    flow, request = load_flow(name), keep_text(request)
    configured = server_url() is not None
    with private_files(), standing_in_for_the_worker(configured), settings_for_here(api_for_here()):
        return flow(request=request, return_state=return_state)


def api_for_here() -> dict[Any, Any]:
    """The API a run here records to: the one configured (a server's, or a test harness's),
    else copflow's local server. Read from the setting itself, not server_url(): whether to run
    through a deployment is another question (tests answer it apart)."""
    from prefect.settings import PREFECT_API_URL

    return {} if PREFECT_API_URL.value() else local_api()


_HERE: dict[tuple[Any, ...], tuple[Any, Any]] = {}  # (id(settings), extra) -> (those settings, for a run here)


@contextmanager
def settings_for_here(extra: dict[Any, Any] | None = None) -> Iterator[None]:
    """Prefect's settings for a run here: no heartbeat, a patient local API, and `extra` (the
    local server's URL). Made once per set of settings and kept: building Prefect's settings
    anew costs a long-running process (the web app) most of a second per run on a busy machine
    (temporary_settings rebuilds them)."""
    import prefect.context
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    extra = extra or {}
    context = prefect.context.get_settings_context()
    key = (id(context.settings), *sorted((setting.name, str(value)) for setting, value in extra.items()))
    kept = _HERE.get(key)
    if kept is None or kept[0] is not context.settings:
        if len(_HERE) > 8:  # settings seldom change; a test session's many are let go
            _HERE.clear()
        updated = context.settings.copy_with_update(
            updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, **patient_local_api(), **extra})
        kept = _HERE[key] = (context.settings, updated)
    with prefect.context.SettingsContext(profile=context.profile, settings=kept[1]):
        yield


def local_api() -> dict[Any, Any]:
    """No server configured: copflow's local Prefect server records the run (started in the
    background by the first command, reused by later ones; flows/runtime/local_server.py)."""
    from flows.runtime.local_server import api_settings

    return api_settings()


def keep_text(request: BaseModel) -> BaseModel:
    """Free text a person typed (a reason, topics, stories) goes into copflow's database; the run
    is given its id (text_id), so Prefect's stores never hold it (DESIGN 6a)."""
    names: tuple[str, ...] = getattr(type(request), "FREE_TEXT", ())
    typed = {n: getattr(request, n) for n in names if getattr(request, n)}
    if not typed:
        return request
    from tasks.storage import flow_text

    text_id = flow_text.keep(getattr(request, "slug", None), typed)
    blank = {n: "" if isinstance(v, str) else [] for n, v in typed.items()}
    return request.model_copy(update={**blank, "text_id": text_id})


@contextmanager
def private_files() -> Iterator[None]:
    """Umask 0o077 while the flow runs: what Prefect's local API starts and writes (its home,
    database, results) is readable by this user alone, like copflow's own files."""
    previous = os.umask(0o077)
    os.umask(previous | 0o077)  # never looser than the user's own
    try:
        yield
    finally:
        os.umask(previous)


def patient_local_api() -> dict[Any, Any]:
    """Give Prefect's local API (started by the first run when there is no server) up to 90 s to
    start, not 20: on a small, busy machine it can take longer, and a user should not see a
    timeout for it."""
    from prefect.settings import (
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as STARTUP,
    )

    return {STARTUP: max(STARTUP.value(), 90)}
