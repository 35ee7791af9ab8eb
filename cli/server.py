"""`copflow server`: copflow's local Prefect server, the embedded default's API (no PREFECT_API_URL).

The first command that runs a flow starts it in the background; these commands show, start and
stop it (flows/runtime/local_server.py).
"""

from __future__ import annotations

import typer

from cli.common import say

server_app = typer.Typer(help="The local Prefect server that records runs when no PREFECT_API_URL is set.",
                         no_args_is_help=True)


def _configured() -> str | None:
    from flows.runtime.dispatch import server_url

    return server_url()


@server_app.command("status")
def status() -> None:
    """Say whether the local Prefect server is running, and where."""
    from flows.runtime import local_server

    found = local_server.running()
    say(local_server.words("running" if found else "not running", found))
    if url := _configured():
        say(local_server.words("configured", url=url))
    elif not local_server.wanted():
        say(local_server.words("off"))


@server_app.command("start")
def start() -> None:
    """Start the local Prefect server now (the first command that runs a flow would)."""
    import time

    from flows.runtime import local_server

    if url := _configured():  # commands use that server: a local one would record nothing
        say(local_server.words("configured", url=url))
        return
    began = time.monotonic()
    found, started = local_server.ensure()
    if started:
        say(local_server.words("started", found, seconds=round(time.monotonic() - began)).removeprefix("copflow: "))
    else:
        say(local_server.words("running", found))


@server_app.command("stop")
def stop() -> None:
    """Stop the local Prefect server (its runs stay in PREFECT_HOME; the next flow starts it again)."""
    from flows.runtime import local_server

    found = local_server.stop()
    say(local_server.words("stopped" if found else "none to stop", found))
