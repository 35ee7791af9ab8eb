"""Run a lifecycle flow for a CLI command: in this process, or (later) through a deployment.

Flow names and their entrypoints; each flow takes one pydantic parameter, `request`.
"""

from __future__ import annotations

import importlib
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


def run_flow(name: str, request: BaseModel) -> Any:
    """Run the named flow in-process and return its result."""
    return load_flow(name)(request=request)
