"""Shared options and output for the command line."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from functools import cache
from typing import Annotated, Any

import typer

from models.errors import BadInput
from models.text import visible


def parse_day(value: str | None, option: str = "--today") -> date:
    """A date argument; --today may replay the past but never run ahead of today's real date."""
    if value is None:
        return date.today()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{option}: '{value}' is not a date (YYYY-MM-DD)") from None
    if option == "--today":
        from tasks.clock import checked_day

        return checked_day(day, option)
    return day


Today = Annotated[
    str | None, typer.Option("--today", help=(
        "Date the change is recorded under (YYYY-MM-DD; default today). An earlier date replays "
        "what happened; a date after today's is refused."))
]
ACTOR_ENV = "COPFLOW_ACTOR"
Actor = Annotated[
    str | None, typer.Option("--as", metavar="EMAIL", help=(
        f"Email of the person acting (or set {ACTOR_ENV}). Required: nobody acts by default."))
]


def declared_actor(actor: str | None) -> str:
    """Who acts: --as, else COPFLOW_ACTOR. Neither is bad input: nothing defaults to anyone."""
    from tasks.usecases.acting import NO_ACTOR

    value = actor if actor is not None else os.environ.get(ACTOR_ENV)
    if value is None or not value.strip():
        raise BadInput(NO_ACTOR)
    try:
        email: str = checked(value.strip(), "Email", "--as")
    except BadInput:
        raise BadInput(f"--as: '{value}' is not an email address") from None
    return email


def as_the_schedule(actor: str | None, option: str = "--all") -> None:
    """A run over every CoP acts as the schedule: an --as with it is a mistake (COPFLOW_ACTOR,
    which says who a person is for their own decisions, is not used)."""
    if actor is not None:
        raise BadInput(f"--as: {option} acts as the schedule and does only what is due; it takes no --as")
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
