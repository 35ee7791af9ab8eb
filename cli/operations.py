"""Operations commands: demo and serve."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the operations commands to the root app."""
