"""What `copflow doctor` asks of Prefect: the server answers, every deployment in
deployments/prefect.yaml is on it, and the work pool has a worker polling it."""

from __future__ import annotations

import importlib
from typing import Any

from flows.runtime.serving import read_deployments
from models.errors import CopflowError

POOL = "copflow"


def api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def _client() -> Any:
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def server_answers() -> str:
    url = api_url()
    if url is None:
        return _local()
    with _client() as client:
        failure = client.api_healthcheck()
    if failure is not None:
        raise CopflowError(f"the Prefect server at {url} does not answer ({type(failure).__name__})")
    return f"the Prefect server at {url} answers"


def _local() -> str:
    from flows.runtime import local_server

    if not local_server.wanted():
        return "no PREFECT_API_URL: flows run in this process, on Prefect's ephemeral API (COPFLOW_LOCAL_SERVER=off)"
    found = local_server.running()
    where = f"at {found.url.removesuffix('/api')}" if found else "(not running: the next flow starts it)"
    return f"no PREFECT_API_URL: flows run in this process, recorded by copflow's local Prefect server {where}"


def expected_deployments() -> list[str]:
    """'<flow name>/<deployment name>' for each entry of deployments/prefect.yaml."""
    names = []
    for spec in read_deployments():
        flow = getattr(importlib.import_module(spec.module), spec.function)
        names.append(f"{flow.name}/{spec.name}")
    return names


def deployments_present() -> str:
    if api_url() is None:
        return "no server: `copflow serve` or a deployment is not needed to run here"
    from prefect.exceptions import ObjectNotFound

    expected = expected_deployments()
    missing = []
    with _client() as client:
        for name in expected:
            try:
                client.read_deployment_by_name(name)
            except ObjectNotFound:
                missing.append(name)
    if missing:
        raise CopflowError(f"{len(missing)} of {len(expected)} deployments missing on the server "
                           f"({', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}); "
                           "run: prefect deploy --prefect-file deployments/prefect.yaml --all")
    return f"all {len(expected)} deployments are on the server"


def work_pool_ready() -> str:
    if api_url() is None:
        return "no server: no work pool needed"
    from prefect.exceptions import ObjectNotFound

    with _client() as client:
        try:
            pool = client.read_work_pool(POOL)
        except ObjectNotFound:
            raise CopflowError(f"no work pool '{POOL}'; create it: "
                               f"prefect work-pool create {POOL} --type process") from None
    status = getattr(pool.status, "value", pool.status)
    if status != "READY":
        raise CopflowError(f"work pool '{POOL}' is {str(status).lower().replace('_', ' ')}: no worker is polling it; "
                           f"start one: prefect worker start --pool {POOL} (or run copflow serve)")
    return f"work pool '{POOL}' is ready"
