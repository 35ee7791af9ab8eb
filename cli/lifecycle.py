"""Lifecycle commands: launch, rotate, close, continue, archive, health, community work-done.

Each command first asks the use case's own checks in a short read-only transaction, so a
refusal is one line and exit 3 without starting Prefect; then it runs the flow, which checks
again inside its transaction (a deployment or a concurrent change may have moved things on).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Annotated, Any

import typer

from cli.common import Actor, AsJson, Today, as_the_schedule, checked, declared_actor, emit_json, parse_day, say
from cli.email_notes import say_undelivered
from cli.run_tally import say_tally
from models.errors import BadInput

Slug = Annotated[str, typer.Argument(help="The CoP's slug.")]


def _precheck(check: Callable[..., Any], slug: str | None, actor: str | None, *args: Any, **kwargs: Any) -> int:
    """Run a use case's checks and roll back: nothing is changed here. Returns the person id of
    who acts, which is what the flow is given: Prefect's stores never hold an address."""
    from tasks.storage.db import _sessionmaker, engine, require_schema
    from tasks.storage.queries import person_by_email

    email = declared_actor(actor)
    require_schema()
    with _sessionmaker(engine())() as db:
        try:
            check(db, slug, email, *args, **kwargs)
            person = person_by_email(db, email)
            assert person is not None  # the check refuses an unknown address
            return person.id
        finally:
            db.rollback()


def _precheck_cop(check: Callable[..., Any], slug: str) -> None:
    """A check that names no actor (health asks as the schedule); rolled back."""
    from tasks.storage.db import _sessionmaker, engine, require_schema

    require_schema()
    with _sessionmaker(engine())() as db:
        try:
            check(db, slug)
        finally:
            db.rollback()


def _operator() -> str | None:
    from tasks.storage.operator import current

    return current()


def _run(name: str, request: Any) -> Any:
    # Prefect's own console logging is for operations (it still reaches the Prefect API/UI);
    # the person at the terminal gets our one-line summary or one-line error.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    from flows.runtime.dispatch import run_flow

    return run_flow(name, request)


def _report(result: Any, as_json: bool = False) -> None:
    if _ran_elsewhere(result):
        return
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    for community in result.communities:
        for note in community.notes:
            say(note)
    if not result.communities:
        say("nothing was due")
    say_tally(result)
    if result.sent or result.failed or result.deferred:
        say(f"email: {result.sent} sent, {result.failed} failed, {result.deferred} to retry")
    say_undelivered(result)


def _ran_elsewhere(result: Any) -> bool:
    """A run on a worker whose result this machine cannot read: say which run, and that it ended."""
    from flows.runtime.through_server import RemoteRun

    if isinstance(result, RemoteRun):
        say(str(result))
        return True
    return False


def launch(slug: Slug, actor: Actor = None, today: Today = None) -> None:
    """Launch a proposed CoP: invite members, tell sponsors (proposed -> launching)."""
    from flows.requests import LaunchRequest
    from tasks.usecases.launch import check_launch

    day = parse_day(today)
    who = _precheck(check_launch, slug, actor)
    _report(_run("launch", LaunchRequest(slug=slug, actor_id=who, today=day, operator=_operator())))


def rotate(
    slug: Annotated[str | None, typer.Argument(help="The CoP's slug.")] = None,
    all_due: Annotated[bool, typer.Option("--all", help=(
        "Every active CoP whose rotation is due, as the schedule (no --as).")) ] = False,
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Hand planning to the next lead by the rota rules (or every CoP due, with --all)."""
    from flows.requests import RotateRequest
    from tasks.usecases.rotate import check_rotate

    if (slug is None) == (not all_due):
        raise BadInput("name one CoP (SLUG) or use --all")
    if all_due:
        as_the_schedule(actor)
    day = parse_day(today)
    who = _precheck(check_rotate, slug, actor) if slug is not None else None
    _report(_run("rotate", RotateRequest(slug=slug, actor_id=who, today=day, operator=_operator())))


def close(
    slug: Slug,
    reason: Annotated[str, typer.Option("--reason", help="Why the CoP is closing.")],
    successor: Annotated[str | None, typer.Option("--successor", help="Slug of a successor CoP.")] = None,
    notice_days: Annotated[int, typer.Option("--notice-days", help="Days of notice to members.")] = 14,
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Close an active CoP with notice and thanks to its members (active -> closing)."""
    from flows.requests import CloseRequest
    from tasks.usecases.close import check_close

    day = parse_day(today)
    reason = " ".join(reason.split())
    if reason:  # a blank one is the use case's to refuse, with its own words
        reason = checked(reason, "Reason", "--reason")
    who = _precheck(check_close, slug, actor, reason, successor, notice_days)
    _report(_run("close", CloseRequest(slug=slug, actor_id=who, reason=reason, successor=successor,
                                       notice_days=notice_days, today=day, operator=_operator())))


def continue_(slug: Slug, actor: Actor = None, today: Today = None) -> None:
    """Keep a closing CoP going: its members decided to continue (closing -> active)."""
    from flows.requests import ContinueRequest
    from tasks.usecases.close import check_continue

    day = parse_day(today)
    who = _precheck(check_continue, slug, actor)
    _report(_run("continue", ContinueRequest(slug=slug, actor_id=who, today=day, operator=_operator())))


def archive(
    slug: Annotated[str | None, typer.Argument(help="The CoP's slug.")] = None,
    all_due: Annotated[bool, typer.Option("--all", help=(
        "Every closing CoP whose notice has ended, as the schedule (no --as, no --now).")) ] = False,
    now: Annotated[bool, typer.Option("--now", help="Archive one CoP before its notice period ends.")] = False,
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Final sponsor report, archive bundle, and read-only from then on (closing -> archived)."""
    from flows.requests import ArchiveRequest
    from tasks.usecases.archive import check_archive

    if (slug is None) == (not all_due):
        raise BadInput("name one CoP (SLUG) or use --all")
    if all_due:
        as_the_schedule(actor)
        if now:
            raise BadInput("--now: --all archives only the CoPs whose notice has ended; archiving "
                           "early is for one CoP, asked for by its convenor or planning group")
    day = parse_day(today)
    _archive_store_here()
    who = _precheck(check_archive, slug, actor, now=now, today=day) if slug is not None else None
    _report(_run("archive", ArchiveRequest(slug=slug, actor_id=who, now=now, today=day,
                                           operator=_operator())))


def _archive_store_here() -> None:
    """The archive store's library, before anything runs: a missing one is one line and exit 2."""
    from tasks.archive.stores import require_driver
    from tasks.storage.settings import get_settings

    require_driver(get_settings().archive_root)


def health(
    slug: Annotated[str | None, typer.Argument(help="The CoP's slug.")] = None,
    all_active: Annotated[bool, typer.Option("--all", help="Every active CoP.")] = False,
    as_json: AsJson = False,
    stored: Annotated[bool, typer.Option(
        "--stored", help="Show the latest stored check instead; run nothing, change nothing.")] = False,
    today: Today = None,
) -> None:
    """How each active CoP is doing; nudges the convenor and proposes a close when it is time."""
    day = parse_day(today)
    if slug is not None and all_active:
        raise BadInput("name one CoP (SLUG) or use --all, not both")
    if stored:
        _stored_health(slug, as_json)
        return
    from flows.requests import HealthRequest
    from tasks.usecases.health import check_health

    if slug is not None:
        _precheck_cop(check_health, slug)
    result = _run("health", HealthRequest(slug=slug, today=day, operator=_operator()))
    if _ran_elsewhere(result):
        return
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    for c in result.communities:
        # A run over every CoP leaves the figures in the records (--stored).
        _say_health(c.slug, c.attention + c.natural_end, c.figures)
        for note in c.notes[:-1]:
            say(f"  {note}")
    if not result.communities and not (result.tally and result.tally.seen):
        say("no active CoPs")
    elif all(c.figures is None for c in result.communities):
        say("each CoP's figures: copflow health SLUG --stored")
    say_tally(result)
    if result.sent or result.failed or result.deferred:
        say(f"email: {result.sent} sent, {result.failed} failed, {result.deferred} to retry")
    say_undelivered(result)


def _stored_health(slug: str | None, as_json: bool) -> None:
    """Read the latest health records: no flow, no Prefect, so it answers at once."""
    from tasks.storage.db import read_scope, require_schema
    from tasks.storage.views import stored_health

    require_schema()
    with read_scope() as db:
        checks = stored_health(db, slug)
    if as_json:
        emit_json(checks)
        return
    for c in checks:
        _say_health(c["slug"], c["signals"], c["figures"], c["checked_on"])
    if not checks:
        say(f"no health check stored for {slug} yet" if slug else "no health checks stored yet")


def _say_health(slug: str, signals: list[str], figures: dict[str, Any] | None,
                checked_on: str | None = None) -> None:
    """One CoP's health in sentences (templates/cli/health.txt); Jinja loads only for text output."""
    from models.health import NATURAL_END
    from tasks.rendering import render

    say(render("cli/health.txt", slug=slug, signals=signals, natural_end=NATURAL_END,
               figures=figures or {}, checked_on=checked_on).rstrip("\n"))


def work_done(slug: Slug, actor: Actor = None, today: Today = None) -> None:
    """Say the CoP's work is done: the next health check proposes a graceful close."""
    from tasks.storage.db import require_schema, session_scope
    from tasks.usecases.close import mark_work_done

    day = parse_day(today)
    who = declared_actor(actor)
    require_schema()
    with session_scope() as db:
        mark_work_done(db, slug, actor=who, today=day)
    say(f"{slug}: marked as work done; the health check will propose a graceful close")


def register(app: typer.Typer) -> None:
    """Add the lifecycle commands to the root app."""
    from cli.records import community_app

    app.command("launch")(launch)
    app.command("rotate")(rotate)
    app.command("close")(close)
    app.command("continue")(continue_)
    app.command("archive")(archive)
    app.command("health")(health)
    community_app.command("work-done")(work_done)
