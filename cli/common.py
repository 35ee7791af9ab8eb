"""Shared options and output for the command line."""

from __future__ import annotations

import json
import sys
from datetime import date
from functools import cache
from typing import Annotated, Any

import typer

from models.errors import BadInput
from models.text import visible


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


@cache
def _adapter(kind: str) -> Any:
    from pydantic import TypeAdapter

    from models import charter

    return TypeAdapter(getattr(charter, kind))


def checked(value: str, kind: str, option: str) -> Any:
    """Validate one argument with the charter's own types (by name), for one clear error line."""
    from pydantic import ValidationError

    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise BadInput(f"{option}: {message}") from None


def checked_all(values: list[str], kind: str, option: str, limit: int) -> list[Any]:
    """Each of a repeated option's values, refused at once when there are more than any CoP has."""
    if len(values) > limit:
        raise BadInput(f"{option}: {len(values)} values given; at most {limit}")
    return [checked(v, kind, option) for v in values]


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def say(line: str = "") -> None:
    """Print a line; stored text in it cannot drive the terminal (an ESC shows as \\x1b)."""
    typer.echo(visible(line))
