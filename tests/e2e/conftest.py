"""A real Prefect server on loopback (SQLite, its own PREFECT_HOME), the copflow deployments
on it, and a worker or `copflow serve` to run them. Every process started here is in its own
process group and is stopped, with bounded waits, however the test ends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")
COPFLOW = str(BIN / "copflow")
POOL = "copflow"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(process: subprocess.Popen[bytes], grace: float = 20) -> None:
    """Stop a process and everything it started (its process group), politely then firmly."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@dataclass
class Server:
    api_url: str
    env: dict[str, str]  # PREFECT_* for anything that should talk to this server
    logs: Path

    def run(self, *args: str, env: dict[str, str] | None = None, cwd: Path = REPO,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                              cwd=cwd, env={**os.environ, **self.env, **(env or {})})

    def prefect(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return self.run(PREFECT, "--no-prompt", *args, **kwargs)  # type: ignore[arg-type]

    @contextmanager
    def background(self, name: str, *args: str, env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(list(args), cwd=cwd, env={**os.environ, **self.env, **env},
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield process
        finally:
            stop(process)
            log.close()

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def _wait_healthy(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("prefect server did not become healthy in time")


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`prefect server start` on a free loopback port, with its own SQLite database."""
    with started_server(tmp_path_factory.mktemp("prefect-server")) as server:
        yield server


@contextmanager
def started_server(root: Path, server_only: dict[str, str] | None = None) -> Iterator[Server]:
    """A Prefect server whose files live in root; server_only: settings for the server alone
    (such as PREFECT_SERVER_DATABASE_CONNECTION_URL)."""
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        "PREFECT_HOME": str(root / "prefect-home"),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
        # Pick runs up within a second rather than ten, so the test spends its time on copflow.
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    server_env = {**{k: v for k, v in env.items() if k != "PREFECT_API_URL"}, **(server_only or {})}
    server = Server(api_url=api_url, env=env, logs=root)
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root, env={**os.environ, **server_env}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_healthy(api_url, process, time.monotonic() + 120)
        yield server
    except RuntimeError as exc:
        pytest.fail(f"{exc}\n{server.log_tail('server')}")
    finally:
        stop(process)
        log.close()


@pytest.fixture(scope="module")
def deployed(prefect_server: Server) -> Server:
    """The copflow work pool and every deployment in deployments/prefect.yaml, on the server."""
    pool = prefect_server.prefect("work-pool", "create", POOL, "--type", "process", "--overwrite")
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = prefect_server.prefect("deploy", "--prefect-file", "deployments/prefect.yaml", "--all",
                                    timeout=300)
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    return prefect_server
