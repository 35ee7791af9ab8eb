"""Commands for what a CoP plans and tells: the next session, stories that surface later, and
the planning tasks (added to the groups of cli/records.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from cli.common import Actor, AsJson, Today, checked, checked_all, declared_actor, emit_json, parse_day, say
from cli.records import SlugArg, _db, _read, session_app, task_app
from models.errors import BadInput
from models.stories import DEFAULT_CONSENT, Consent

story_app = typer.Typer(help="Stories of change that surface after their session.", no_args_is_help=True)


def parse_start(value: str) -> datetime:
    """A session's start, as the charter's first_session: local time in Europe/London unless an
    offset is given (then converted to it)."""
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--on: '{value}' is not a date and time (YYYY-MM-DDTHH:MM)") from None
    if start.tzinfo is not None:
        from zoneinfo import ZoneInfo

        start = start.astimezone(ZoneInfo("Europe/London")).replace(tzinfo=None)
    return start


@session_app.command("plan")
def session_plan(
    slug: SlugArg,
    on: Annotated[str, typer.Option("--on", help="When it starts (YYYY-MM-DDTHH:MM, London time).")],
    agenda: Annotated[list[str] | None, typer.Option("--agenda", help="An agenda item; repeat for several.")] = None,
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Set the next session's date: every member gets a calendar invite; a new date updates it."""
    from cli.lifecycle import _operator, _precheck, _report, _run
    from flows.requests import PlanRequest
    from models.charter import MAX_LIST_ITEMS
    from tasks.usecases.planning_sessions import check_plan

    day = parse_day(today)
    starts_at = parse_start(on)
    items = checked_all(agenda or [], "OneLine", "--agenda", MAX_LIST_ITEMS)
    who = _precheck(lambda db, cop, email: check_plan(db, cop, starts_at=starts_at, actor=email, today=day),
                    slug, actor)
    _report(_run("plan-session", PlanRequest(slug=slug, starts_at=starts_at, agenda=items, actor_id=who,
                                             today=day, operator=_operator())))


@story_app.command("add")
def story_add(
    slug: SlugArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The story, in the teller's words.")],
    on: Annotated[str, typer.Option("--on", help="The session it belongs to, or the day it was told.")],
    consent: Annotated[Consent, typer.Option(
        "--consent", help="What the teller agreed to: named, anonymous, or private (the default).")] = DEFAULT_CONSENT,
    teller: Annotated[str | None, typer.Option("--teller", help="Email of the member who told it.")] = None,
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Add a story that surfaced later: to the session held that day, or to the CoP itself."""
    from tasks.usecases.stories import add_story

    day = parse_day(today)
    told_on = parse_day(on, "--on")
    story = checked(text, "LongText", "TEXT")
    who = checked(teller, "Email", "--teller") if teller is not None else None
    with _db() as db:
        added = add_story(db, slug, on=told_on, text=story, consent=consent, teller=who,
                          actor=declared_actor(actor), today=day)
        story_id, session_day = added.story_id, added.session_held_on
    where = f"the session on {session_day}" if session_day else f"{slug} on {told_on} (no session that day)"
    say(f"story #{story_id} added to {where}, consent: {consent.value}")


@task_app.command("reassign")
def task_reassign(
    slug: SlugArg,
    task_id: Annotated[int, typer.Argument(metavar="TASK_ID", help="The number shown by 'task add'.")],
    to: Annotated[str, typer.Option("--to", metavar="EMAIL", help="The current member who takes it on.")],
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Hand an open planning task to another member (--as the convenor or planning group)."""
    from tasks.usecases.planning_tasks import reassign_task

    day = parse_day(today)
    email = checked(to, "Email", "--to")
    who = declared_actor(actor)
    with _db() as db:
        task = reassign_task(db, slug, task_id, email, actor=who, today=day)
        owner = task.owner.person.name
    say(f"task #{task_id} in {slug} is now {owner}'s")


@task_app.command("list")
def task_list(slug: SlugArg, as_json: AsJson = False, today: Today = None) -> None:
    """Every planning task: open ones first (overdue marked), then the done ones."""
    from tasks.storage.session_views import task_list as tasks_of
    from tasks.storage.views import _community

    day = parse_day(today)
    with _read() as db:
        tasks = tasks_of(db, _community(db, slug).id, day)
    if as_json:
        emit_json(tasks)
        return
    if not tasks:
        typer.echo(f"no planning tasks in {slug} yet; add one with: copflow task add {slug} TITLE", err=True)
    for t in tasks:
        due = f", due {t['due']}" if t["due"] else ""
        state = "OVERDUE" if t["overdue"] else t["status"]
        done = f" on {t['done_on']}" if t["done_on"] else ""
        say(f"#{t['id']:<4} {state:<8} {t['title']} ({t['owner']}{due}){done}")
