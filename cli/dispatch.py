"""Run a lifecycle flow for a CLI command: through its deployment, or in this process.

Flow names and their entrypoints; each flow takes one pydantic parameter, `request`.
With a Prefect server (PREFECT_API_URL) that has the flow deployed, the command triggers the
deployment and reports the run's outcome; otherwise it runs the flow here, as before.
Either way the flow applies the same rules about who may act.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from pydantic import BaseModel

FLOWS: dict[str, str] = {
    "launch": "flows.launch:launch",
    "rotate": "flows.rotate:rotate",
    "health": "flows.health:health",
    "close": "flows.close:close",
    "continue": "flows.continue_:continue_community",
    "archive": "flows.archive:archive",
    "sponsor-report": "flows.sponsor_report:sponsor_report",
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
    if server_url():
        from cli.through_server import NotDeployed, run_through_server

        try:
            return run_through_server(name, request)
        except NotDeployed as missing:
            print(f"note: {missing} is not deployed on the Prefect server; running it here",
                  file=sys.stderr)
    return load_flow(name)(request=request)
