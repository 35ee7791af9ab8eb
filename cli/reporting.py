"""Sponsor reports and the outbox: report, outbox."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import AsJson, Today, emit_json, parse_day, say
from cli.email_notes import say_undelivered
from cli.run_tally import say_tally
from models.errors import BadInput
from models.text import visible


def report(
    slug: Annotated[str | None, typer.Argument(help="The CoP to report on.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every CoP.")] = False,
    today: Today = None,
    as_json: AsJson = False,
) -> None:
    """Send the sponsor reports that are due: one per ended period, once to each sponsor."""
    if (slug is None) == (not all_):
        raise BadInput("name one CoP or use --all" if slug is None else "give a CoP or --all, not both")
    day = parse_day(today)
    from tasks.storage.db import require_schema

    require_schema()
    if slug is not None:
        from tasks.storage.db import session_scope
        from tasks.storage.queries import get_community

        with session_scope() as db:
            get_community(db, slug)  # an unknown CoP is bad input, before any flow starts
    from flows.requests import ReportRequest
    from flows.runtime.dispatch import run_flow
    from tasks.storage.operator import current

    summary = run_flow("sponsor-report", ReportRequest(slug=slug, today=day, operator=current()))
    from flows.runtime.through_server import RemoteRun

    if isinstance(summary, RemoteRun):  # ran on a worker whose result this machine cannot read
        say(str(summary))
        return
    if as_json:
        emit_json(summary.model_dump(mode="json"))
        return
    for c in summary.communities:
        if c.periods:
            say(f"{c.slug}: report for {', '.join(c.periods)} queued for {c.queued} sponsor email(s)")
        elif c.queued:
            say(f"{c.slug}: {c.queued} sponsor email(s) queued")
        elif c.next_period:
            say(f"{c.slug}: nothing due; the report for {c.next_period} is due on {c.next_due_on}")
        elif c.stage_after == "archived" and c.notes:  # withdrawn: it never met, so never reported
            say(c.notes[0])
        elif c.stage_after == "proposed":
            say(f"{c.slug}: not launched yet; reports start with the period it launches in")
        else:
            say(f"{c.slug}: archived; its final report went with the archive")
    say_tally(summary)
    say(f"emails: {summary.sent} sent, {summary.failed} failed, {summary.deferred} waiting to retry")
    say_undelivered(summary)
    if summary.delivery_stopped and not summary.held:
        typer.echo(f"note: delivery stopped early: {visible(summary.delivery_stopped)}", err=True)
    if summary.failed:
        typer.echo("note: see 'copflow outbox --failed' for why", err=True)


def _row(m: Any) -> dict[str, Any]:
    return {
        "id": m.id, "key": m.key, "status": m.status, "template": m.template,
        "to": m.to_email, "subject": m.subject, "queued_on": m.queued_on, "attempts": m.attempts,
        "sent_at": m.sent_at, "transport": m.transport, "next_attempt_at": m.next_attempt_at,
        "error": m.last_error,
    }


MAX_KEYS = 1000  # keys named on one command line; --failed and --held take any number
outbox_app = typer.Typer(help="The outbox: every email copflow queued, and what became of it.")


@outbox_app.callback(invoke_without_command=True)
def outbox(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option(
        "--failed", help="Only emails that could not be sent (failed, or held for the settings).")] = False,
    as_json: AsJson = False,
) -> None:
    """What was queued, sent, failed or held, and why. Reads only; sends nothing."""
    if ctx.invoked_subcommand is not None:
        return
    from sqlalchemy import func, select

    from models.db.schema import outbox_message as message
    from tasks.storage.db import read_scope, require_schema

    require_schema()
    with read_scope() as db:  # Core, not the ORM: a read-only command loads less
        stmt = select(message).order_by(message.c.id)
        if failed:
            stmt = stmt.where(message.c.status.in_(("failed", "held")))
        rows = [_row(m) for m in db.execute(stmt)]
        by_status = select(message.c.status, func.count()).group_by(message.c.status)
        counts: dict[str, int] = dict(db.execute(by_status).all())
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        when = f"sent {r['sent_at']:%Y-%m-%d %H:%M}" if r["sent_at"] else f"queued {r['queued_on']}"
        say(f"{r['id']:>5}  {r['status']:<8} {when}  {r['template']}  to {r['to']}  \"{r['subject']}\"")
        if r["status"] != "sent" and r["error"]:
            retry = f" (next try after {r['next_attempt_at']:%Y-%m-%d %H:%M})" \
                if r["status"] == "pending" and r["next_attempt_at"] else ""
            say(f"       why: {r['error']}{retry}")
    parts = [f"{counts.get(s, 0)} {s}" for s in ("pending", "sending", "sent", "failed")]
    if counts.get("held"):
        parts.append(f"{counts['held']} held")
    say(("" if not rows else "\n") + "outbox: " + ", ".join(parts))


@outbox_app.command("resend")
def resend(
    keys: Annotated[list[str] | None, typer.Argument(help="Outbox keys of the emails to queue again.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every email that failed.")] = False,
    held: Annotated[bool, typer.Option("--held", help="Every email held for the settings.")] = False,
    why: Annotated[str | None, typer.Option("--why", help="Kept in the audit entry.")] = None,
    today: Today = None,
) -> None:
    """Queue failed or held emails again, once each, under their own keys (audited).

    The next run of a flow for their CoPs delivers them (the daily sponsor-report run at the latest).
    """
    from cli.common import checked
    from tasks.storage.db import require_schema, session_scope
    from tasks.usecases.resend import os_operator
    from tasks.usecases.resend import resend as queue_again

    day = parse_day(today)
    if keys and len(keys) > MAX_KEYS:
        raise BadInput(f"outbox resend: {len(keys)} keys given; at most {MAX_KEYS} (or use --failed, --held)")
    if why is not None:
        why = checked(" ".join(why.split()), "Reason", "--why")
    require_schema()
    statuses = [s for s, chosen in (("failed", failed), ("held", held)) if chosen]
    with session_scope() as db:
        done = queue_again(db, keys=keys or [], statuses=statuses, operator=os_operator(), today=day, why=why)
    for key, status in done.left.items():
        say(f"{key}: {status}, not queued again")
    n = len(done.queued)
    say(f"{n} email{'s' if n != 1 else ''} queued again; the next run for their CoPs delivers "
        f"{'it' if n == 1 else 'them'}")


def register(app: typer.Typer) -> None:
    """Add the reporting commands to the root app."""
    app.command("report")(report)
    app.add_typer(outbox_app, name="outbox")
