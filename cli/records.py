"""Record commands: communities, members, sessions, tasks and the audit trail."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # only for the type checker: read-only commands load no ORM
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

from cli.common import Actor, AsJson, Today, checked, checked_all, declared_actor, emit_json, parse_day, say
from models.sessions import MAX_GUESTS
from models.stories import DEFAULT_CONSENT, MAX_STORIES, Consent
from models.vocabulary import MemberKind, SessionFormat

community_app = typer.Typer(help="Create, list and show communities.", no_args_is_help=True)
member_app = typer.Typer(help="Add members, record leaving and volunteering.", no_args_is_help=True)
session_app = typer.Typer(help="Record sessions held.", no_args_is_help=True)
task_app = typer.Typer(help="Planning tasks, owned by the planning lead.", no_args_is_help=True)

SlugArg = Annotated[str, typer.Argument(metavar="SLUG", help="The CoP's short name, e.g. aaot.")]
EmailArg = Annotated[str, typer.Argument(metavar="EMAIL", help="The member's email address.")]


def _db() -> AbstractContextManager[Session]:
    from tasks.storage.db import require_schema, session_scope

    require_schema()
    return session_scope()


def _read() -> AbstractContextManager[Connection]:
    """A Core connection for the read-only commands (tasks/storage/views.py): no ORM to load."""
    from tasks.storage.db import read_scope, require_schema

    require_schema()
    return read_scope()


@community_app.command("create")
def community_create(
    charter: Annotated[Path, typer.Argument(metavar="CHARTER.yaml", help="The charter YAML file.")], today: Today = None
) -> None:
    """Store a CoP from its charter, in stage proposed, and print its slug."""
    from tasks.charter_file import load_charter
    from tasks.usecases.communities import create_community

    day = parse_day(today)
    parsed = load_charter(charter)
    with _db() as db:
        community = create_community(db, parsed, day)
        missing = parsed.missing_for_launch()
        slug = community.slug
    say(slug)
    if missing:
        typer.echo(f"note: before launch, the charter needs: {', '.join(missing)}", err=True)


@community_app.command("list")
def community_list(as_json: AsJson = False) -> None:
    """Every CoP with its stage."""
    from tasks.storage.views import list_communities

    with _read() as db:
        rows = list_communities(db)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        # A hint, not data: stdout stays empty for scripts.
        typer.echo("no CoPs yet; create one with: copflow community create CHARTER.yaml", err=True)
    for row in rows:
        say(f"{row['slug']:<24} {row['stage']:<10} {row['name']}")


@community_app.command("show")
def community_show(slug: SlugArg, as_json: AsJson = False, today: Annotated[str | None, typer.Option(
        "--today", help="The day to judge fidelity as of (YYYY-MM-DD; default today).")] = None) -> None:
    """Stage, people and roles, planning lead, open tasks, and fidelity to the model."""
    view = _show_view(slug, parse_day(today))
    if as_json:
        emit_json(view)
        return
    say(f"{view['name']} ({view['slug']}): {view['stage']}")
    if view["missing_for_launch"]:
        say(f"  before launch it needs: {', '.join(view['missing_for_launch'])}")
    if view["closing"]:
        c = view["closing"]
        say(f"  closing since {c['since']}, notice ends {c['notice_ends_on']}: {c['reason']}")
    if view.get("withdrawn"):
        say(f"  withdrawn on {view['withdrawn']['on']}, before it met: {view['withdrawn']['reason']}")
    say(f"  domain:   {view['domain'] or '(not yet set)'}")
    say(f"  practice: {view['practice'] or '(not yet set)'}")
    say(f"  cadence:  {view['cadence'] or '(not yet set)'}; sessions held: {view['sessions_held']}")
    lead = view["planning_lead"]
    if lead:
        say(f"  planning lead: {lead['name']} since {lead['since']}")
    elif view["stage"] in ("proposed", "launching"):
        say("  planning lead: none yet")
    else:
        say("  planning lead: none at present")
    say("  people:")
    for m in view["members"]:
        roles = f" [{', '.join(m['roles'])}]" if m["roles"] else ""
        kind = f" {m['kind']}" if m["kind"] else ""
        say(f"    {m['name']} <{m['email'] or 'contact details erased'}>{kind}{roles}")
    for s in view["sponsors"]:
        org = f", {s['organisation']}" if s["organisation"] else ""
        say(f"    {s['name']} <{s['email'] or 'contact details erased'}> sponsor{org}")
    _say_next_session(view["next_session"])
    say(f"  open tasks: {len(view['open_tasks'])}")
    for t in view["open_tasks"]:
        due = f" (due {t['due']})" if t["due"] else ""
        say(f"    #{t['id']} {t['title']}{due}, {t['owner']}")
    if view["successor"]:
        say(f"  successor: {view['successor']}")
    if view["predecessors"]:
        say(f"  grew out of: {', '.join(view['predecessors'])}")
    if view["archive"]:
        say(f"  archive: {view['archive']}")
    _say_fidelity_summary(view["fidelity"])


def _show_view(slug: str, day: date) -> dict[str, Any]:
    from tasks.storage.views import show_community
    from tasks.usecases.fidelity import fidelity_of

    with _read() as db:
        view = show_community(db, slug)
        view["fidelity"] = fidelity_of(db, slug, day, sentences=False)[0]  # no Jinja on this path
    return view


def _say_fidelity_summary(fidelity: dict[str, Any]) -> None:
    """Each criterion's verdict; `copflow fidelity SLUG` gives the evidence."""
    s = fidelity["summary"]
    say(f"  fidelity to the model: {s['met']} of {s['of']} met (evidence: copflow fidelity {fidelity['slug']})")
    for c in fidelity["criteria"]:
        say(f"    {c['title']}: {c['verdict']}")


def _say_next_session(upcoming: dict[str, Any] | None) -> None:
    """The next session's date and agenda, where members' details are shown."""
    if upcoming:
        say(f"  {'first' if upcoming['first'] else 'next'} session: {upcoming['starts_at'].replace('T', ' ')}")
        for item in upcoming["agenda"]:
            say(f"    - {item}")


@member_app.command("add")
def member_add(
    slug: SlugArg,
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    email: Annotated[str, typer.Option("--email", help="Email address.")],
    kind: Annotated[MemberKind, typer.Option("--kind")] = MemberKind.practitioner,
    planning_group: Annotated[bool, typer.Option("--planning-group")] = False,
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Add a member to a CoP."""
    from tasks.usecases.membership import add_member

    day = parse_day(today)
    checked_name = checked(name, "PersonName", "--name")
    checked_email = checked(email, "Email", "--email")
    who = declared_actor(actor)
    with _db() as db:
        add_member(db, slug, name=checked_name, email=checked_email, kind=kind,
                   planning_group=planning_group, actor=who, today=day)
    say(f"{checked_name} joined {slug}")


@member_app.command("leave")
def member_leave(slug: SlugArg, email: EmailArg, actor: Actor = None, today: Today = None) -> None:
    """Record that a member has left (they are thanked, never chased); --as the member themselves,
    or the convenor or planning group. A planning lead who leaves is followed at once by the
    next, with the open tasks handed over."""
    from tasks.usecases.membership import leave

    day = parse_day(today)
    who = declared_actor(actor)
    if _step_down(slug, email, who, day, leaving=True):
        return
    with _db() as db:
        leave(db, slug, email, actor=who, today=day)
    say(f"{email} has left {slug}")


@member_app.command("volunteer")
def member_volunteer(
    slug: SlugArg,
    email: EmailArg,
    opt_out: Annotated[bool, typer.Option("--opt-out", help="Opt out of leading planning.")] = False,
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Offer to lead planning, or opt out of leading; --as the member themselves, or the convenor
    or planning group. An offer makes them eligible for the rota; it does not let them decide."""
    from tasks.usecases.membership import volunteer

    day = parse_day(today)
    who = declared_actor(actor)
    if opt_out and _step_down(slug, email, who, day, leaving=False):
        return
    with _db() as db:
        volunteer(db, slug, email, opt_out=opt_out, actor=who, today=day)
    say(f"{email} {'opted out of leading' if opt_out else 'volunteered to lead planning'} in {slug}")


def _step_down(slug: str, email: str, who: str, day: date, *, leaving: bool) -> bool:
    """When the member leads planning now, run the step-down flow (the next lead is chosen at
    once and the handover emails go out) and say so; False when they do not lead."""
    from cli.lifecycle import _operator, _report, _run
    from flows.requests import StepDownRequest
    from tasks.storage.db import _sessionmaker, engine
    from tasks.storage.queries import person_by_email
    from tasks.usecases.membership import leave, volunteer
    from tasks.usecases.step_down import leading_member

    with _db() as db:
        member = leading_member(db, slug, email)
    if member is None:
        return False
    with _sessionmaker(engine())() as db:  # refused here, in one line, before Prefect starts
        try:
            if leaving:
                leave(db, slug, email, actor=who, today=day)
            else:
                volunteer(db, slug, email, opt_out=True, actor=who, today=day)
            person = person_by_email(db, who)
            assert person is not None  # the use case refuses an unknown address
            actor_id = person.id
        finally:
            db.rollback()  # nothing is written here: the flow does it
    _report(_run("step-down", StepDownRequest(slug=slug, member=member, leaving=leaving,
                                              actor_id=actor_id, today=day, operator=_operator())))
    return True


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for raw in values or [] for v in raw.split(",") if v.strip()]


@session_app.command("record")
def session_record(
    slug: SlugArg,
    on: Annotated[str, typer.Option("--on", help="Date held (YYYY-MM-DD).")],
    attended: Annotated[list[str], typer.Option("--attended", help="Emails of those who came.")],
    format: Annotated[SessionFormat | None, typer.Option("--format")] = None,
    topic: Annotated[list[str] | None, typer.Option("--topic", help="Topic or case discussed.")] = None,
    method: Annotated[list[str] | None, typer.Option("--method", help="Method used, e.g. Time to Think.")] = None,
    output: Annotated[list[str] | None, typer.Option("--output", help="Something it produced.")] = None,
    story: Annotated[list[str] | None, typer.Option(
        "--story", help="A story of what changed in practice; repeat for several.")] = None,
    consent: Annotated[Consent, typer.Option(
        "--consent", help="What the teller agreed to: named, anonymous, or private (the default: "
                          "it stays in the CoP).")] = DEFAULT_CONSENT,
    teller: Annotated[str | None, typer.Option("--teller", help="Email of the member who told the stories.")] = None,
    guests: Annotated[int, typer.Option("--guests", min=0, max=MAX_GUESTS,
                                        help="Guests who came (a speaker, visitors): counted, not named.")] = 0,
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Record a session held and who attended. The first one makes a launching CoP active."""
    from tasks.usecases.sessions import check_session, makes_active, record_session

    day = parse_day(today)
    held_on = parse_day(on, "--on")
    from models.charter import MAX_LIST_ITEMS, MAX_MEMBERS

    emails = checked_all(_split(attended), "Email", "--attended", MAX_MEMBERS)
    details: dict[str, Any] = {"held_on": held_on, "attended": emails, "format": format,
                               "topics": checked_all(topic or [], "OneLine", "--topic", MAX_LIST_ITEMS),
                               "methods": checked_all(method or [], "OneLine", "--method", MAX_LIST_ITEMS),
                               "outputs": checked_all(output or [], "OneLine", "--output", MAX_LIST_ITEMS),
                               "stories": checked_all(story or [], "LongText", "--story", MAX_STORIES),
                               "consent": consent, "guests": guests,
                               "teller": checked(teller, "Email", "--teller") if teller is not None else None}
    who = declared_actor(actor)
    with _db() as db:
        first = makes_active(db, slug)
        if first:  # refused here, in one line, before Prefect starts; nothing is written
            _, _, attendees = check_session(db, slug, held_on=held_on, attended=emails, actor=who, today=day,
                                            guests=guests, teller=details["teller"])
            # The flow is given person ids: Prefect's stores never hold an address (DESIGN 6a).
            details["attended"] = [m.person_id for m in attendees]
            teller_email = details.pop("teller")
            details["teller_id"] = _person_id(db, teller_email) if teller_email else None
            actor_id = _person_id(db, who)
        else:  # a routine record changes no stage: no flow, no Prefect
            recorded = record_session(db, slug, actor=who, today=day, **details)
            count = len(recorded.attendance) + recorded.guests
    if first:
        ran = _first_session(slug, actor_id, day, details)
        if ran is None:
            return
        count = ran
    say(f"session on {held_on} recorded for {slug}: {count} attended")


def _person_id(db: Session, email: str) -> int:
    from tasks.storage.queries import person_by_email

    person = person_by_email(db, email)
    assert person is not None  # the checks refuse an unknown address
    return person.id


def _first_session(slug: str, actor_id: int, day: date, details: dict[str, Any]) -> int | None:
    """Record the first session through the record-session flow: it makes the CoP active by the
    same stage-change path as launch and close (audited with the run, announced as an event).
    Returns how many attended, or None when the run went to a worker (it says which run)."""
    from cli.lifecycle import _operator, _ran_elsewhere, _run
    from flows.requests import SessionRequest

    result = _run("record-session", SessionRequest(slug=slug, actor_id=actor_id, today=day,
                                                   operator=_operator(), **details))
    if _ran_elsewhere(result):
        return None
    return int(result.communities[0].attended or 0)


@task_app.command("add")
def task_add(
    slug: SlugArg,
    title: Annotated[str, typer.Argument(metavar="TITLE", help="What needs doing.")],
    due: Annotated[str | None, typer.Option("--due", help="Due date (YYYY-MM-DD).")] = None,
    notes: Annotated[str | None, typer.Option("--notes")] = None,
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Add a planning task, owned by the current planning lead."""
    from tasks.usecases.planning_tasks import add_task

    day = parse_day(today)
    due_on = parse_day(due, "--due") if due else None
    checked_title = checked(title, "OneLine", "TITLE")
    checked_notes = checked(notes, "LongText", "--notes") if notes is not None else None
    who = declared_actor(actor)
    with _db() as db:
        task = add_task(db, slug, title=checked_title, due=due_on, notes=checked_notes, actor=who, today=day)
        task_id, owner = task.id, task.owner.person.name
    say(f"task #{task_id} added to {slug}, owned by {owner}")


@task_app.command("done")
def task_done(
    slug: SlugArg,
    task_id: Annotated[int, typer.Argument(metavar="TASK_ID", help="The number shown by 'task add'.")],
    actor: Actor = None,
    today: Today = None,
) -> None:
    """Mark a planning task done (--as its owner, or the convenor or planning group)."""
    from tasks.usecases.planning_tasks import complete_task

    day = parse_day(today)
    who = declared_actor(actor)
    with _db() as db:
        complete_task(db, slug, task_id, actor=who, today=day)
    say(f"task #{task_id} in {slug} is done")


def audit(slug: SlugArg, as_json: AsJson = False) -> None:
    """The audit trail of a CoP: what changed, who, when, why, before and after."""
    from tasks.storage.views import audit_trail

    with _read() as db:
        entries = audit_trail(db, slug)
    if as_json:
        emit_json(entries)
        return
    for e in entries:
        why = f": {e['why']}" if e["why"] else ""
        run = f" (flow run {e['flow_run_id']})" if e["flow_run_id"] else ""
        run += f" (on the {e['channel']})" if e["channel"] else ""
        change = "".join(f" {label} {_brief(e[label])}" for label in ("before", "after") if e[label])
        say(f"{e['on']} {e['actor']}{_operator_said(e)} {e['action']}{why}{run}{change}")


def _operator_said(entry: dict[str, Any]) -> str:
    """Who typed it or started the run, beside the person declared as acting."""
    operator = entry["operator"]
    if operator is None and entry["channel"] == "web":
        return ""  # the signed-in person acted themselves; the line says "(on the web)"
    if operator is None:
        return " (asked through the Prefect API)" if entry["flow_run_id"] else " (operator not recorded)"
    return "" if operator == "schedule" else f" (typed by {operator})"


def _brief(values: dict[str, object]) -> str:
    """key=value pairs on one line; anything long (the whole charter) is left to --json."""
    import json

    parts = []
    for key, value in values.items():
        text = json.dumps(value, default=str, ensure_ascii=False)
        parts.append(f"{key}={text if len(text) <= 80 else '(see --json)'}")
    return "{" + ", ".join(parts) + "}"
