"""Shared options and output for the command line."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated, Any

import typer

from models.errors import BadInput


def parse_day(value: str | None, option: str = "--today") -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{option}: '{value}' is not a date (YYYY-MM-DD)") from None


Today = Annotated[
    str | None, typer.Option("--today", help="Date the change is recorded under (YYYY-MM-DD).")
]
Actor = Annotated[
    str | None, typer.Option("--as", help="Email of the person acting (default: the convenor).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def say(line: str = "") -> None:
    typer.echo(line)
