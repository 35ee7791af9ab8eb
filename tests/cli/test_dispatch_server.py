"""With PREFECT_API_URL set, a lifecycle command goes to the server; if the server is not
there, the convenor gets one line saying so (exit 1), not a traceback and not a silent change."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.any_database  # no database is reached: the server is not there

SCRIPT = """
from pydantic import BaseModel
from cli.app import main
from flows.runtime.dispatch import run_flow
import cli.app, sys

class Request(BaseModel):
    slug: str = "aaot"
    actor: str = "dana@example.nhs.uk"

@cli.app.app.command("try-launch")
def try_launch() -> None:
    run_flow("launch", Request())

sys.exit(main(["try-launch"]))
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_is_one_clear_line() -> None:
    url = f"http://127.0.0.1:{closed_port()}/api"
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PREFECT_API_URL": url})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"copflow: cannot reach the Prefect server at {url} (ConnectError); "
        "start it, or unset PREFECT_API_URL to run here"
    ]
