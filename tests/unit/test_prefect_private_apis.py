"""Every Prefect name copflow uses that Prefect does not promise to keep (a private module, an
underscore name, or an engine internal), checked here so a Prefect upgrade that moves or
changes one fails in this file, by name, rather than in a convenor's command.

Where each is used:
  prefect.flow_engine.run_flow              flows/runtime/on_request.py (a claimed run, run here)
  prefect.context.SyncClientContext         demo/play.py (one API client for the whole demo)
  prefect.context.SettingsContext,          flows/runtime/dispatch.py (a run's settings, made once
    get_settings_context                      and entered for each run here)
  prefect.deployments.schedules / runner    flows/runtime/serving.py (serve's deployments)
  prefect.cli.deploy._models                tests/unit/test_deployments_file.py
  prefect.events AssertingEventsClient,     tests/flows/conftest.py (the events a flow emits)
    EventsWorker (prefect._internal base)
What each does at run time is also exercised where it is used: tests/flows/test_on_request.py
runs a claimed run through run_flow on a real API, including the failed-state message the
command line reads a Refused back from.
"""

from __future__ import annotations

import inspect
import subprocess
import sys


def test_run_flow_runs_an_existing_flow_run_and_can_return_its_state() -> None:
    from prefect.flow_engine import run_flow

    params = inspect.signature(run_flow).parameters
    assert list(params)[:2] == ["flow", "flow_run"]
    assert params["flow_run"].default is None
    assert "'state'" in str(params["return_type"].annotation).replace('"', "'")


def test_sync_client_context_is_made_without_arguments_and_entered() -> None:
    from prefect.context import SyncClientContext

    assert not [p for p in inspect.signature(SyncClientContext.get_or_create).parameters.values()
                if p.default is inspect.Parameter.empty]
    # get_or_create is a context manager factory: demo/play.py enters it in an ExitStack
    assert hasattr(SyncClientContext.get_or_create, "__wrapped__")


def test_a_cron_schedule_becomes_a_deployment_schedule_that_keeps_active() -> None:
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.deployments.runner import EntrypointType
    from prefect.deployments.schedules import create_deployment_schedule_create

    made = create_deployment_schedule_create(CronSchedule(cron="0 7 * * 1", timezone="Europe/London"),
                                             active=False)
    assert made.active is False
    assert isinstance(made.schedule, CronSchedule)
    assert made.schedule.cron == "0 7 * * 1" and made.schedule.timezone == "Europe/London"
    assert EntrypointType.MODULE_PATH.value == "module_path"


def test_prefect_yaml_model_reads_deployments_and_pull_steps() -> None:
    from prefect.cli.deploy._models import PrefectYamlModel

    model = PrefectYamlModel.model_validate({
        "pull": [{"prefect.deployments.steps.set_working_directory": {"directory": "/srv"}}],
        "deployments": [{"name": "daily", "entrypoint": "flows/health.py:health"}],
    })
    assert [d.name for d in model.deployments] == ["daily"]
    assert isinstance(model.pull, list) and "set_working_directory" in next(iter(model.pull[0]))


_EVENTS_WORKER_CHECK = """
import time
from prefect.events import Event
from prefect.events.clients import AssertingEventsClient
from prefect.events.worker import EventsWorker

AssertingEventsClient.reset()
worker = EventsWorker.instance(AssertingEventsClient)
try:
    worker.send(Event.model_validate(
        {"event": "copflow.check", "resource": {"prefect.resource.id": "copflow.check"}}))
    deadline, sent = time.monotonic() + 120, []
    while not sent and time.monotonic() < deadline:
        time.sleep(0.05)
        sent = [e.event for client in AssertingEventsClient.all for e in getattr(client, "events", [])]
finally:
    worker.drain()
print(sent)
"""


def test_the_asserting_events_client_records_what_the_events_worker_sends() -> None:
    # In a process of its own: the events worker is a per-process singleton that earlier tests'
    # flows and harnesses leave behind, and in a shared process this check has hung (waiting on
    # wait_until_empty) or found the worker failed, depending on which tests ran first.
    done = subprocess.run([sys.executable, "-c", _EVENTS_WORKER_CHECK], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "['copflow.check']", done.stdout[-2000:] + done.stderr[-3000:]


def test_settings_made_once_are_entered_as_a_settings_context() -> None:
    from prefect.context import SettingsContext, get_settings_context
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    context = get_settings_context()
    updated = context.settings.copy_with_update(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
    with SettingsContext(profile=context.profile, settings=updated):
        assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is None
    assert get_settings_context() is context
