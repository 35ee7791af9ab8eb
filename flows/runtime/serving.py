"""Read deployments/prefect.yaml, the one place that says which deployments exist and when
they run, for `copflow serve` (Prefect's serve: every deployment in one process, no worker).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from models.errors import BadInput

PREFECT_FILE = Path(__file__).resolve().parents[2] / "deployments" / "prefect.yaml"


@dataclass(frozen=True)
class CronSpec:
    cron: str
    timezone: str | None = None
    active: bool = True


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    entrypoint: str  # path/to/file.py:function, relative to the checkout
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    schedules: list[CronSpec] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def module(self) -> str:
        path, _, _ = self.entrypoint.partition(":")
        return path.removesuffix(".py").replace("/", ".")

    @property
    def function(self) -> str:
        return self.entrypoint.partition(":")[2]


def _schedule(where: str, raw: Any) -> CronSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("cron"), str):
        raise BadInput(f"{where}: each schedule needs a cron expression (copflow serve reads cron only)")
    return CronSpec(cron=raw["cron"], timezone=raw.get("timezone"), active=bool(raw.get("active", True)))


def read_deployments(path: Path = PREFECT_FILE) -> list[DeploymentSpec]:
    """Every deployment in a prefect.yaml, with its anchors and merge keys resolved."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    entries = loaded.get("deployments") if isinstance(loaded, dict) else None
    if not isinstance(entries, list) or not entries:
        raise BadInput(f"{path}: no deployments in it")
    specs: list[DeploymentSpec] = []
    for index, raw in enumerate(entries):
        where = f"{path.name}: deployments[{index}]"
        if not isinstance(raw, dict) or not raw.get("name") or ":" not in str(raw.get("entrypoint", "")):
            raise BadInput(f"{where}: needs a name and an entrypoint like flows/launch.py:launch")
        job_variables = (raw.get("work_pool") or {}).get("job_variables") or {}
        specs.append(DeploymentSpec(
            name=str(raw["name"]),
            entrypoint=str(raw["entrypoint"]),
            description=raw.get("description"),
            tags=list(raw.get("tags") or []),
            parameters=dict(raw.get("parameters") or {}),
            schedules=[_schedule(where, s) for s in raw.get("schedules") or []],
            env={str(k): str(v) for k, v in (job_variables.get("env") or {}).items()},
        ))
    return specs


def load_flow(spec: DeploymentSpec) -> Any:
    """The flow object an entrypoint names, imported as a module of the installed package."""
    try:
        return getattr(importlib.import_module(spec.module), spec.function)
    except (ImportError, AttributeError) as exc:
        raise BadInput(f"deployment {spec.name}: cannot load {spec.entrypoint} ({exc})") from None


def runner_deployments(specs: list[DeploymentSpec]) -> list[Any]:
    """Prefect runner deployments for `serve`, named and scheduled as in prefect.yaml."""
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.deployments.runner import EntrypointType  # type: ignore[attr-defined]  # re-exported, not declared
    from prefect.deployments.schedules import create_deployment_schedule_create

    deployments = []
    for spec in specs:
        flow = load_flow(spec)
        schedules = [
            create_deployment_schedule_create(
                CronSchedule(cron=s.cron, timezone=s.timezone) if s.timezone else CronSchedule(cron=s.cron),
                active=s.active,
            )
            for s in spec.schedules
        ]
        deployments.append(flow.to_deployment(
            name=spec.name,
            schedules=schedules or None,
            parameters=spec.parameters or None,
            description=spec.description,
            tags=spec.tags or None,
            # A module path works from any directory: the flows are part of the installed package.
            entrypoint_type=EntrypointType.MODULE_PATH,
        ))
    return deployments


def serve(path: Path = PREFECT_FILE, limit: int | None = None) -> None:
    """Serve every deployment in prefect.yaml until interrupted."""
    specs = read_deployments(path)
    for spec in specs:
        for key, value in spec.env.items():
            os.environ.setdefault(key, value)  # what a worker would give each run
    from prefect import serve as prefect_serve

    from flows.runtime.on_request import OnRequestRunner
    from flows.runtime.through_server import DEPLOYMENT

    deployments = list(zip(specs, runner_deployments(specs), strict=True))
    # The on-request runs are this process's alone (flows/runtime/on_request.py); Prefect's own loop never
    # sees them, since two claimants can both take a run that finishes in under a second.
    at_once = OnRequestRunner({d.apply(): load_flow(spec) for spec, d in deployments if spec.name == DEPLOYMENT})
    print("Answered at once, in this process: "
          + ", ".join(sorted(f"{f.name}/{DEPLOYMENT}" for f in at_once.flows.values())), flush=True)
    at_once.start()
    try:
        prefect_serve(*[d for spec, d in deployments if spec.name != DEPLOYMENT], limit=limit)
    finally:
        at_once.stop()  # the runs it has claimed finish before serve exits
