"""Fidelity and the portfolio: read-only views for convenors and programme staff."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import AsJson, emit_json, parse_day, say
from models.errors import BadInput

AsOf = Annotated[str | None, typer.Option(
    "--today", help="The day to judge as of (YYYY-MM-DD; default today), to replay a scenario.")]


def say_fidelity(view: dict[str, Any], indent: str = "") -> None:
    """One CoP's fidelity in sentences (templates/cli/fidelity.txt)."""
    from tasks.rendering import render

    say(render("cli/fidelity.txt", v=view, indent=indent).rstrip("\n"))


def fidelity(
    slug: Annotated[str | None, typer.Argument(help="The CoP's slug.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every CoP.")] = False,
    as_json: AsJson = False,
    today: AsOf = None,
) -> None:
    """How each CoP stands against the model, each criterion with its evidence. Reads only."""
    if (slug is None) == (not all_):
        raise BadInput("name one CoP (SLUG) or use --all" if slug is None else "give a CoP or --all, not both")
    day = parse_day(today)
    from tasks.storage.db import read_scope, require_schema
    from tasks.usecases.fidelity import fidelity_of

    require_schema()
    with read_scope() as db:
        views = fidelity_of(db, slug, day)
    if as_json:
        emit_json(views if slug is None else views[0])
        return
    for i, view in enumerate(views):
        if i:
            say()
        say_fidelity(view)
    if not views:
        typer.echo("no CoPs yet; create one with: copflow community create CHARTER.yaml", err=True)


def portfolio(as_json: AsJson = False, today: AsOf = None) -> None:
    """Every CoP: stage, cadence, attendance, fidelity, tasks, next report; and the people
    carrying planning or convening in more than one CoP. Reads only."""
    day = parse_day(today)
    from tasks.rendering import render
    from tasks.storage.db import read_scope, require_schema
    from tasks.usecases.portfolio import portfolio as read_portfolio

    require_schema()
    with read_scope() as db:
        view = read_portfolio(db, day)
    if as_json:
        emit_json(view)
        return
    from tasks.usecases.fidelity import titles

    say(render("cli/portfolio.txt", p=view, titles=titles()).strip("\n"))


def register(app: typer.Typer) -> None:
    app.command("fidelity")(fidelity)
    app.command("portfolio")(portfolio)
