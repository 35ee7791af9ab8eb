"""Role commands: withdraw a CoP, replace a draft's charter, pass on the convenor role, and a
member's new address (issue 13, section 1). Words printed live in templates/cli/roles.txt."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import Actor, Today, checked, declared_actor, parse_day, say

Slug = Annotated[str, typer.Argument(metavar="SLUG", help="The CoP's slug.")]


def _say(said: str, **context: Any) -> None:
    from tasks.rendering import render

    say(render("cli/roles.txt", said=said, **context).strip())


def withdraw(
    slug: Slug,
    reason: Annotated[str, typer.Option("--reason", help="Why it is withdrawn.")],
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Withdraw a CoP that never launched or never met (proposed|launching -> archived)."""
    from cli.lifecycle import _operator, _precheck, _report, _run
    from flows.requests import WithdrawRequest
    from tasks.usecases.withdraw import check_withdraw

    day = parse_day(today)
    reason = " ".join(reason.split())
    if reason:  # a blank one is the use case's to refuse, with its own words
        reason = checked(reason, "Reason", "--reason")
    who = _precheck(check_withdraw, slug, actor, reason)
    _report(_run("withdraw", WithdrawRequest(slug=slug, actor_id=who, reason=reason, today=day,
                                             operator=_operator())))


def community_update(
    slug: Slug,
    charter: Annotated[Path, typer.Argument(metavar="CHARTER.yaml", help="The new charter.")],
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Replace a proposed CoP's charter (same checks as create; the slug stays)."""
    from cli.records import _db
    from tasks.usecases.charter_update import load_update, update_community

    day = parse_day(today)
    parsed, written_slug = load_update(charter)
    with _db() as db:
        update_community(db, slug, parsed, written_slug=written_slug, actor=declared_actor(actor), today=day)
    _say("updated", slug=slug, missing=parsed.missing_for_launch())


def member_convenor(
    slug: Slug,
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The planning-group member taking over.")],
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Pass the convenor role to a planning-group member; the former convenor stays on it."""
    from cli.records import _db
    from tasks.usecases.roles import hand_convenor

    day = parse_day(today)
    address = checked(email, "Email", "EMAIL")
    with _db() as db:
        from tasks.storage.queries import convenor_of, get_community

        former = convenor_of(db, get_community(db, slug))
        former_name = former.person.name if former else None
        name = hand_convenor(db, slug, address, actor=declared_actor(actor), today=day).person.name
    _say("convenor", slug=slug, name=name, former=former_name)


def member_email(
    slug: Slug,
    old: Annotated[str, typer.Argument(metavar="OLD", help="The member's address now.")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="Their new address.")],
    actor: Actor = None,
    today: Today = None,
) -> None:
    """A member's new address: one person, with their history, not two."""
    from cli.records import _db
    from tasks.usecases.roles import change_email

    day = parse_day(today)
    old_address, new_address = checked(old, "Email", "OLD"), checked(new, "Email", "NEW")
    with _db() as db:
        name = change_email(db, slug, old_address, new_address, actor=declared_actor(actor), today=day).name
    _say("email", name=name, new=new_address)


def register(app: typer.Typer) -> None:
    """Add the role commands to the root app and its groups."""
    from cli.records import community_app, member_app

    app.command("withdraw")(withdraw)
    community_app.command("update")(community_update)
    member_app.command("convenor")(member_convenor)
    member_app.command("email")(member_email)
