"""copflow's local Prefect server on the embedded defaults (no PREFECT_API_URL): the first command
that runs a flow starts it in the background, later commands reuse it and their runs are recorded
there; a stale pid file is replaced, two first commands at once start one server, and
`copflow server stop` stops it. Each test has its own PREFECT_HOME, and stops what it started."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from flows.runtime import local_server
from tests.conftest import COPFLOW, CliRunner
from tests.support.lifecycle import CONVENOR

# Prefect's server on the embedded defaults; what the runs write is tested on both databases elsewhere.
pytestmark = [pytest.mark.flows, pytest.mark.any_database]

STARTED = "started a local Prefect server at http://127.0.0.1:"


@pytest.fixture
def prefect_home(tmp_path: Path) -> Path:
    return tmp_path / "prefect"


@pytest.fixture
def own(prefect_home: Path) -> dict[str, str]:
    """No Prefect server configured, and this test's own PREFECT_HOME."""
    return {"PREFECT_HOME": str(prefect_home), "PREFECT_API_URL": "", "COPFLOW_LOCAL_SERVER": ""}


def servers_in(prefect_home: Path) -> list[int]:
    """Pids of the Prefect servers running for this PREFECT_HOME (each runs in its state folder)."""
    folder = str(prefect_home / local_server.FOLDER)
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.readlink(proc / "cwd") == folder \
                    and b"server" in (proc / "cmdline").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def flow_runs(url: str) -> list[tuple[str, str]]:
    """(name, state) of every flow run the server at `url` recorded, through Prefect's client."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        return sorted((run.name, run.state_type.value if run.state_type else "") for run in client.read_flow_runs())


def test_the_first_command_starts_the_server_and_the_next_reuses_it(
        aaot: str, cli: CliRunner, own: dict[str, str], prefect_home: Path) -> None:
    first = cli("launch", aaot, "--as", CONVENOR, "--today", "2027-01-04", env=own, timeout=300)
    assert first.returncode == 0, first.stderr
    [said] = first.stderr.splitlines()  # one line: where, and how to stop it
    assert said.startswith(f"copflow: {STARTED}") and "copflow server stop" in said and str(prefect_home) in said
    server = local_server.read(prefect_home / local_server.FOLDER)
    assert server is not None and servers_in(prefect_home) == [server.pid]

    second = cli("health", aaot, "--today", "2027-01-05", env=own)
    assert second.returncode == 0 and second.stderr == "", second.stderr
    assert local_server.read(prefect_home / local_server.FOLDER) == server  # the same server, reused
    assert servers_in(prefect_home) == [server.pid]
    assert flow_runs(server.url) == [("health: aaot", "COMPLETED"), ("launch: aaot", "COMPLETED")]

    status = cli("server", "status", env=own)
    assert status.stdout.startswith(f"a local Prefect server is running at {server.url.removesuffix('/api')} "
                                    f"(pid {server.pid}")
    stopped = cli("server", "stop", env=own)
    assert stopped.stdout == f"stopped the local Prefect server at {server.url.removesuffix('/api')}\n"
    assert servers_in(prefect_home) == [] and not local_server.state_file(prefect_home / local_server.FOLDER).exists()
    assert cli("server", "stop", env=own).stdout.startswith("no local Prefect server was running")
    assert cli("server", "status", env=own).stdout.startswith("no local Prefect server is running")


def test_a_stale_pid_file_is_replaced_and_two_first_commands_start_one_server(
        home: Path, own: dict[str, str], prefect_home: Path) -> None:
    # The recorded server died, and its pid now belongs to another process (it must not be signalled).
    bystander = subprocess.Popen(["sleep", "600"])
    folder = prefect_home / local_server.FOLDER
    folder.mkdir(parents=True, mode=0o700)
    stale = {"pid": bystander.pid, "port": 9, "url": "http://127.0.0.1:9/api", "log": str(folder / "server.log")}
    local_server.state_file(folder).write_text(json.dumps(stale))
    env = {**os.environ, **own}
    try:
        assert "no local Prefect server is running" in subprocess.run(
            [COPFLOW, "server", "status"], env=env, capture_output=True, text=True, timeout=60).stdout
        racers = [subprocess.Popen([COPFLOW, "server", "start"], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for _ in range(2)]
        said = sorted(racer.communicate(timeout=300)[0] for racer in racers)
        assert [r.returncode for r in racers] == [0, 0], said
        server = local_server.read(folder)
        assert server is not None and server.pid != bystander.pid
        address = server.url.removesuffix("/api")
        # One started it; the other waited on the lock and found it running.
        assert said[0].startswith(f"a local Prefect server is running at {address} ")
        assert said[1].startswith(f"{STARTED}{server.port} ")
        assert servers_in(prefect_home) == [server.pid]
        assert bystander.poll() is None  # the process that had the stale pid was left alone
    finally:
        bystander.kill()
        bystander.wait()
    stopped = subprocess.run([COPFLOW, "server", "stop"], env=env, capture_output=True, text=True, timeout=60)
    assert stopped.stdout.startswith("stopped the local Prefect server")
    assert servers_in(prefect_home) == []


def test_a_server_that_died_is_noticed(home: Path, own: dict[str, str], prefect_home: Path) -> None:
    """The recorded server was killed (no clean stop): status says none is running, stop tidies up."""
    folder = prefect_home / local_server.FOLDER
    folder.mkdir(parents=True, mode=0o700)
    dead = subprocess.Popen(["true"])
    dead.wait()
    local_server.state_file(folder).write_text(json.dumps(
        {"pid": dead.pid, "port": 9, "url": "http://127.0.0.1:9/api", "log": str(folder / "server.log")}))
    env = {**os.environ, **own}
    status = subprocess.run([COPFLOW, "server", "status"], env=env, capture_output=True, text=True, timeout=60)
    assert status.stdout.startswith("no local Prefect server is running"), status.stderr
    stop = subprocess.run([COPFLOW, "server", "stop"], env=env, capture_output=True, text=True, timeout=60)
    assert stop.stdout.startswith("no local Prefect server was running")
    assert not local_server.state_file(folder).exists()


def test_with_a_server_configured_or_the_local_server_off_nothing_is_started(
        cli: CliRunner, own: dict[str, str], prefect_home: Path) -> None:
    configured = cli("server", "start", env={**own, "PREFECT_API_URL": "http://127.0.0.1:9/api"})
    assert configured.stdout.startswith("PREFECT_API_URL is set: flows are recorded by the Prefect server at "
                                        "http://127.0.0.1:9/api")
    off = cli("server", "status", env={**own, "COPFLOW_LOCAL_SERVER": "off"})
    assert "COPFLOW_LOCAL_SERVER is off" in off.stdout
    assert servers_in(prefect_home) == [] and not (prefect_home / local_server.FOLDER / "server.json").exists()
