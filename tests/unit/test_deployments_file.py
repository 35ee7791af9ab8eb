"""deployments/prefect.yaml is what operations staff deploy and what `copflow serve` serves:
every flow must be reachable on request, the schedules must be the agreed ones, and Prefect
itself must accept the file (it skips a file it cannot validate, with only a warning)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.runtime.dispatch import FLOWS
from flows.runtime.serving import PREFECT_FILE, read_deployments
from flows.runtime.through_server import DEPLOYMENT
from models.errors import BadInput

REPO = Path(__file__).resolve().parents[2]
SPECS = read_deployments(PREFECT_FILE)


def by_name(flow_entrypoint: str, name: str):  # type: ignore[no-untyped-def]
    found = [s for s in SPECS if s.entrypoint == flow_entrypoint and s.name == name]
    assert len(found) == 1, f"expected one {name} deployment of {flow_entrypoint}"
    return found[0]


def entrypoint_of(flow: str) -> str:
    module, _, function = FLOWS[flow].partition(":")
    return f"{module.replace('.', '/')}.py:{function}"


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_every_flow_can_be_triggered_on_request(flow: str) -> None:
    spec = by_name(entrypoint_of(flow), DEPLOYMENT)
    assert spec.schedules == []
    assert (REPO / spec.entrypoint.partition(":")[0]).is_file()


@pytest.mark.parametrize(("flow", "name", "cron"), [
    ("health", "daily", "0 6 * * *"),
    ("sponsor-report", "daily", "0 7 * * *"),
    ("rotate", "weekly-check", "30 6 * * 1"),
    ("archive", "daily", "15 6 * * *"),
])
def test_scheduled_deployments_cover_every_cop(flow: str, name: str, cron: str) -> None:
    spec = by_name(entrypoint_of(flow), name)
    assert [(s.cron, s.timezone, s.active) for s in spec.schedules] == [(cron, "Europe/London", True)]
    assert spec.parameters == {"request": {}}


def test_only_the_agreed_deployments_are_scheduled() -> None:
    scheduled = {(s.entrypoint, s.name) for s in SPECS if s.schedules}
    assert scheduled == {
        (entrypoint_of("health"), "daily"),
        (entrypoint_of("sponsor-report"), "daily"),
        (entrypoint_of("rotate"), "weekly-check"),
        (entrypoint_of("archive"), "daily"),
    }


def test_every_deployment_goes_to_the_copflow_process_pool_and_keeps_results() -> None:
    raw = yaml.safe_load(PREFECT_FILE.read_text())
    for deployment in raw["deployments"]:
        assert deployment["work_pool"]["name"] == "copflow"
        assert deployment["work_pool"]["job_variables"]["env"]["PREFECT_RESULTS_PERSIST_BY_DEFAULT"] == "true"
    assert not any(k.startswith("COPFLOW_") for s in SPECS for k in s.env), "settings come from the worker"


def test_prefect_accepts_the_file_as_written() -> None:
    from prefect.cli.deploy._models import PrefectYamlModel

    model = PrefectYamlModel.model_validate(yaml.safe_load(PREFECT_FILE.read_text()))
    assert len(model.deployments) == len(SPECS)
    assert model.pull and "set_working_directory" in next(iter(model.pull[0]))


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_each_entrypoint_is_the_flow_the_command_line_runs(flow: str) -> None:
    from flows.runtime.dispatch import load_flow
    from flows.runtime.serving import load_flow as load_from_spec

    spec = by_name(entrypoint_of(flow), DEPLOYMENT)
    loaded = load_from_spec(spec)
    assert loaded is load_flow(flow)
    assert loaded.name == flow


def test_a_missing_or_broken_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read it"):
        read_deployments(tmp_path / "nope.yaml")
    broken = tmp_path / "prefect.yaml"
    broken.write_text("deployments:\n  - name: x\n    entrypoint: flows/launch.py:launch\n    schedules: [{interval: 60}]\n")
    with pytest.raises(BadInput, match="cron"):
        read_deployments(broken)
    broken.write_text("deployments: [\n")
    with pytest.raises(BadInput, match="not valid YAML"):
        read_deployments(broken)


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_what_each_flow_returns_can_be_read_back_from_a_worker(flow: str) -> None:
    # A worker loads an entrypoint file under its bare name ("launch", not "flows.launch"), so a
    # result class defined in that file would be pickled under a module the CLI cannot import.
    import typing

    from flows.runtime.dispatch import load_flow

    fn = load_flow(flow).fn
    returned = typing.get_type_hints(fn)["return"]
    assert returned.__module__ != fn.__module__, f"{flow}: define {returned.__name__} outside {fn.__module__}"
