"""Sponsor reports and the outbox: report, outbox."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import AsJson, Today, emit_json, parse_day, say
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

    summary = run_flow("sponsor-report", ReportRequest(slug=slug, today=day))
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
    say(f"emails: {summary.sent} sent, {summary.failed} failed, {summary.deferred} waiting to retry")
    if summary.delivery_stopped:
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


def outbox(
    failed: Annotated[bool, typer.Option("--failed", help="Only emails that could not be sent.")] = False,
    as_json: AsJson = False,
) -> None:
    """What was queued, sent, or failed, and why. Reads only; sends nothing."""
    from sqlalchemy import func, select

    from models.db.schema import outbox_message as message
    from tasks.storage.db import read_scope, require_schema

    require_schema()
    with read_scope() as db:  # Core, not the ORM: a read-only command loads less
        stmt = select(message).order_by(message.c.id)
        if failed:
            stmt = stmt.where(message.c.status == "failed")
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
    say(("" if not rows else "\n") + "outbox: " + ", ".join(parts))


def register(app: typer.Typer) -> None:
    """Add the reporting commands to the root app."""
    app.command("report")(report)
    app.command("outbox")(outbox)
