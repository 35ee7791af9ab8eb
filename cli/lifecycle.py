"""Lifecycle commands: launch, rotate, close, continue, archive, health."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the lifecycle commands to the root app."""
