"""Sponsor reports and the outbox: report, outbox."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the reporting commands to the root app."""
