"""copflow's local Prefect server: the embedded default's API, started once and reused.

Without a Prefect server (no PREFECT_API_URL), a command that runs a flow used to start
Prefect's ephemeral API in its own process: about 10 s, every command. Instead the first such
command starts `prefect server start` on a loopback port in the background, on the same
database the ephemeral API used (PREFECT_HOME/prefect.db, so runs are recorded where they were),
and later commands find it, check its /api/health and point their own process at it.

Its pid and port are in PREFECT_HOME/copflow-server/server.json (the server belongs to its
database, so two copflow homes on one PREFECT_HOME share it); a lock file there keeps two first
commands from starting two servers; a file whose server died is replaced. `copflow server stop`
stops it. COPFLOW_LOCAL_SERVER=off keeps the ephemeral API in each command's own process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from models.errors import CopflowError

FOLDER = "copflow-server"
STARTUP_SECONDS = 180  # a fresh PREFECT_HOME on a busy two-core machine has taken 100 s
STOP_SECONDS = 15
OFF = {"0", "off", "false", "no"}


@dataclass(frozen=True)
class Running:
    pid: int
    port: int
    url: str  # the API URL, http://127.0.0.1:PORT/api
    log: str


class NotStarted(CopflowError):
    """The local server did not come up: its log says why."""


def wanted() -> bool:
    """False when COPFLOW_LOCAL_SERVER is off: each command then starts Prefect's ephemeral API."""
    return (os.environ.get("COPFLOW_LOCAL_SERVER") or "").strip().lower() not in OFF


def folder() -> Path:
    from prefect.settings import PREFECT_HOME

    return Path(PREFECT_HOME.value()).expanduser().resolve() / FOLDER


def state_file(where: Path | None = None) -> Path:
    return (where or folder()) / "server.json"


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as reply:  # noqa: S310 - our loopback URL
            return bool(reply.status == 200)
    except (OSError, ValueError):
        return False


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if this process started it and it has exited
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ours(pid: int) -> bool:
    """The pid is still a Prefect server (not a later process that was given the same pid)."""
    if not _alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():  # no /proc (macOS): the health check decides
        return True
    try:
        words = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return b"prefect" in words and b"server" in words


def read(where: Path | None = None) -> Running | None:
    """The server recorded in the state file, if the file is there and readable."""
    try:
        data = json.loads(state_file(where).read_text())
        return Running(pid=int(data["pid"]), port=int(data["port"]), url=str(data["url"]), log=str(data["log"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running(where: Path | None = None) -> Running | None:
    """The recorded server if it is ours and answers; None if there is none or it died."""
    found = read(where)
    if found is None or not _ours(found.pid) or not healthy(found.url):
        return None
    return found


@contextlib.contextmanager
def locked(where: Path) -> Iterator[None]:
    """One command at a time may start or stop the server of this PREFECT_HOME."""
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (where / "server.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure() -> tuple[Running, bool]:
    """The running local server, started now if there is none; True if this call started it."""
    where = folder()
    found = running(where)
    if found is not None:
        return found, False
    with locked(where):
        found = running(where) or _patiently(where)  # a concurrent first command may have started it
        if found is not None:
            return found, False
        stop_at(where)  # a stale file, or a server that stopped answering
        return _start(where), True


def _patiently(where: Path, seconds: float = 30) -> Running | None:
    """A recorded server that is alive but slow to answer (a busy machine) is given time before
    it is taken for hung and replaced."""
    found = read(where)
    if found is None or not _ours(found.pid):
        return None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and _ours(found.pid):
        if healthy(found.url, timeout=5.0):
            return found
        time.sleep(1.0)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(where: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PREFECT_API_URL", "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "PREFECT_SERVER_LOGGING_LEVEL")}
    env["PREFECT_HOME"] = str(where.parent)
    env["PREFECT_SERVER_LOGGING_LEVEL"] = "WARNING"  # its log says why, if it ever fails
    return env


def _start(where: Path) -> Running:
    port, log = _free_port(), where / "server.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=_server_env(where), cwd=where, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # it outlives this command, and Ctrl-C here does not reach it
            umask=0o077)  # its database and files are this user's alone, like copflow's own
    started = Running(pid=process.pid, port=port, url=f"http://127.0.0.1:{port}/api", log=str(log))
    _record(where, started)
    deadline = time.monotonic() + STARTUP_SECONDS
    while not healthy(started.url, timeout=1.0):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_at(where)
            said = "stopped" if process.returncode is not None else f"did not answer within {STARTUP_SECONDS} s"
            raise NotStarted(f"the local Prefect server {said}; see {log} "
                             "(or set COPFLOW_LOCAL_SERVER=off to run without it)")
        time.sleep(0.2)
    return started


def _record(where: Path, server: Running) -> None:
    partial = where / "server.json.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(server), out)
    partial.replace(state_file(where))


def stop_at(where: Path) -> Running | None:
    """Stop the recorded server if it is still ours, and forget it. Returns what was recorded."""
    found = read(where)
    if found is not None and _ours(found.pid):
        _terminate(found.pid)
    state_file(where).unlink(missing_ok=True)
    return found


def _terminate(pid: int) -> None:
    """SIGTERM to its process group (the server and any process it started), SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + STOP_SECONDS
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _alive(pid):
            return


def _on_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def api_settings(tell: Callable[[str], None] = _on_stderr) -> dict[Any, Any]:
    """Prefect settings for a flow run in this process when no server is configured: the local
    server's URL (started now if need be, which `tell` says), or nothing when it is off."""
    if not wanted():
        return {}
    from prefect.settings import PREFECT_API_URL

    began = time.monotonic()
    server, started = ensure()
    if started:
        tell(words("started", server, seconds=round(time.monotonic() - began)))
    return {PREFECT_API_URL: server.url}


def words(said: str, server: Running | None = None, **context: Any) -> str:
    """One line from templates/cli/local_server.txt."""
    from tasks.rendering import render

    address = server.url.removesuffix("/api") if server else None
    home = folder().parent
    return render("cli/local_server.txt", said=said, address=address, pid=server.pid if server else None,
                  home=home, **context).strip()


def stop() -> Running | None:
    """Stop the local server of this PREFECT_HOME. Returns it if one was running."""
    where = folder()
    with locked(where):
        found = read(where)
        alive = found is not None and _ours(found.pid)  # answering or not: a hung server is stopped too
        stop_at(where)
        return found if alive else None
