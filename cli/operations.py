"""Operations commands: demo and serve."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve(
    prefect_file: Annotated[
        Path | None,
        typer.Option("--prefect-file", help="Deployments to serve (default: deployments/prefect.yaml)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many flow runs at once.")
    ] = None,
) -> None:
    """Every deployment on its schedule, in this process (Prefect's serve; no worker needed).

    Runs until interrupted (Ctrl-C). With PREFECT_API_URL set, the deployments and their
    runs appear on that server; convenors' commands against it are run here too.
    """
    from flows.runtime import serving

    serving.serve(prefect_file or serving.PREFECT_FILE, limit=limit)


def register(app: typer.Typer) -> None:
    """Add the operations commands to the root app."""
    app.command("serve")(serve)
