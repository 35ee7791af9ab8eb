"""copflow's local Prefect server in tests: a command that runs a flow without PREFECT_API_URL
starts one in the background (flows/runtime/local_server.py) and leaves it running for the next
command. Tests stop every one they started, so no server outlives the test run."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from flows.runtime import local_server


def session_prefect_home() -> Path:
    """A PREFECT_HOME of this test process's own, for commands whose test names none: their
    local server (one, shared by them) never lands in the developer's ~/.prefect."""
    path = Path(tempfile.mkdtemp(prefix="copflow-tests-prefect-"))
    os.environ["PREFECT_HOME"] = str(path)
    return path


def stop_servers_under(root: Path, depth: int = 3) -> list[int]:
    """Stop each local server whose PREFECT_HOME is `root` or a folder up to `depth` levels under
    it; returns their pids."""
    stopped = []
    for level in range(depth + 1):
        for state in root.glob("/".join(["*"] * level + [local_server.FOLDER, "server.json"])):
            found = local_server.stop_at(state.parent)
            if found is not None:
                stopped.append(found.pid)
    return stopped


def clean_session_home(path: Path) -> None:
    stop_servers_under(path, depth=0)
    shutil.rmtree(path, ignore_errors=True)
