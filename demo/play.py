"""`copflow demo`: a sample CoP's whole life over a simulated year, on the embedded defaults.

The year is content (examples/demo-scenario.yaml and the charters beside it); what a person
reads is in templates/demo/. This module prepares the demo's own folder, plays the steps
(demo/steps.py) with a progress display, and says where to look afterwards. All flows run
in this one process, recorded by copflow's local Prefect server (started on first use, reused).
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.errors import CopflowError, Refused

if TYPE_CHECKING:  # the command line imports this module; rich and Prefect load only for the demo
    from rich.console import Console

    from demo.scenario import Step
    from demo.steps import Year

MARKER = ".copflow-demo"  # written into the demo folder, so only a folder the demo made is cleared
DATE_COLUMN = 10  # "  14 Thu  "


def demo_home() -> Path:
    """COPFLOW_HOME/demo (default ./copflow-data/demo): the demo's own folder."""
    return (Path(os.environ.get("COPFLOW_HOME") or "./copflow-data") / "demo").resolve()


def clear(home: Path) -> None:
    """Empty the demo folder, refusing any folder the demo did not make."""
    if home.exists():
        if not home.is_dir() or (any(home.iterdir()) and not (home / MARKER).exists()):
            raise Refused(f"{home} exists and was not made by 'copflow demo'; move it away or set "
                          "COPFLOW_HOME to another folder")
        shutil.rmtree(home)
    home.mkdir(parents=True, mode=0o700)  # copflow refuses a home others can write in
    (home / MARKER).write_text("Made by 'copflow demo'; cleared at the start of each demo run.\n")


# A Prefect server (and its database) that operations may have configured: the demo's fictional
# runs and events stay off it, so they can neither clutter it nor set off its automations.
PREFECT_SERVER_SETTINGS = ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_API_DATABASE_CONNECTION_URL",
                           "PREFECT_SERVER_DATABASE_CONNECTION_URL")


def use_embedded_defaults(home: Path) -> str | None:
    """Point copflow at the demo folder, the file outbox and Prefect's local API, before any
    setting is read. Returns the Prefect API URL that was set in the environment, if any."""
    os.environ["COPFLOW_HOME"] = str(home)
    os.environ["COPFLOW_EMAIL_TRANSPORT"] = "file"  # fictional people: nothing may leave the machine
    for name in ("COPFLOW_DATABASE_URL", "COPFLOW_ARCHIVE_URL"):
        os.environ.pop(name, None)
    configured = os.environ.get("PREFECT_API_URL") or None
    for name in PREFECT_SERVER_SETTINGS:
        os.environ.pop(name, None)
    # Prefect's console logging is for operations; the person at the terminal reads the story.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    from tasks.storage.settings import get_settings

    get_settings.cache_clear()
    return configured


def command_name() -> str:
    """How the person ran copflow (`copflow`, or `.venv/bin/copflow` under make)."""
    invoked = Path(sys.argv[0])
    found = shutil.which("copflow")
    if found and Path(found).resolve() == invoked.resolve():
        return "copflow"
    try:
        return str(invoked.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(invoked)


def lines_of(text: str, width: int, first: str) -> list[str]:
    """A narrative block as lines: the first after the date column, the rest indented under it."""
    out: list[str] = []
    indent = " " * DATE_COLUMN
    for n, line in enumerate(t for t in text.splitlines() if t.strip()):
        extra = " " * (len(line) - len(line.lstrip()))
        out += textwrap.wrap(line.strip(), width=width, initial_indent=(first if n == 0 else indent) + extra,
                             subsequent_indent=indent + extra + "  ", break_on_hyphens=False)
    return out


def outbox_kinds(outbox: Path) -> list[dict[str, Any]]:
    """.eml files by kind and CoP, read from their names (the outbox key: kind:slug:...)."""
    counts: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], float] = {}
    for path in outbox.glob("*.eml"):
        kind, _, rest = path.stem.partition("_")
        key = (kind, rest.partition("_")[0])
        counts[key] += 1
        first[key] = min(first.get(key, float("inf")), path.stat().st_mtime)
    # In the order they were first written: the story's order.
    return [{"kind": k, "slug": s, "count": counts[(k, s)]} for k, s in sorted(counts, key=first.__getitem__)]


def prefect_home() -> Path:
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home)


def local_ui() -> str | None:
    """Where copflow's local Prefect server shows the demo's runs, if it is running."""
    from flows.runtime import local_server

    found = local_server.running() if local_server.wanted() else None
    return found.url.removesuffix("/api") if found else None


def demo() -> None:
    """Take a sample CoP through a simulated year, from charter to archive (under a minute).

    Charter, launch, monthly sessions, two rotations with handover, quarterly sponsor reports,
    a natural-end proposal, a close with a successor, and the archive, in COPFLOW_HOME/demo.
    """
    started = time.monotonic()
    from rich.console import Console

    from demo.scenario import SCENARIO, load_scenario
    from tasks.rendering import render

    scenario = load_scenario()  # a broken scenario stops here, before anything is cleared
    home = demo_home()
    clear(home)
    configured = use_embedded_defaults(home)
    from prefect.settings import get_current_settings

    configured = configured or get_current_settings().api.url  # or from the Prefect profile
    console = Console(highlight=False, soft_wrap=True)
    steps = scenario.steps
    for line in render("demo/intro.txt", home=home, scenario=f"examples/{SCENARIO.name}",
                       steps=len(steps), first=steps[0].day, last=steps[-1].day,
                       configured_api=configured).splitlines():
        console.print(line, markup=False)
    year = play(console, steps)
    console.print()
    say_outro(console, home, year, len(steps), started)


def play(console: Console, steps: list[Step]) -> Year:
    """Every step in order, each told as it happens, under a progress bar (on a terminal)."""
    from contextlib import ExitStack

    from prefect.context import SyncClientContext
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from demo.steps import Year
    from flows.runtime import local_server
    from flows.runtime.dispatch import patient_local_api, private_files
    from tasks.clock import simulated_until
    from tasks.rendering import render
    from tasks.storage.db import upgrade
    from tasks.storage.operator import operated_by, os_user

    width = min(console.width, 110) - 1
    year = Year()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=True,
                        disable=not console.is_terminal)
    with ExitStack() as stack:
        stack.enter_context(progress)
        stack.enter_context(private_files())  # Prefect's local API and its files: this user's alone
        bar = progress.add_task("Finding copflow's local Prefect server (started on first use)", total=len(steps))
        # Not the configured API URL (not even a profile's): copflow's local Prefect server, or
        # with it off Prefect's ephemeral local API. Heartbeats tell a server that a worker's run
        # is still alive; these runs live and end in this process, and stopping each run's
        # heartbeat thread costs up to a second a run.
        local = local_server.api_settings(tell=lambda line: console.print(line.removeprefix("copflow: "),
                                                                          markup=False))
        stack.enter_context(temporary_settings(
            updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, **patient_local_api(), **local},
            restore_defaults=set() if local else {PREFECT_API_URL}))
        # One API client (and connection) for every run, not a new one per run.
        stack.enter_context(SyncClientContext.get_or_create())
        # A simulated year in the demo's own folder: its days may run past today's real date,
        # which nothing else may (tasks/clock.py).
        stack.enter_context(simulated_until(steps[-1].day))
        stack.enter_context(operated_by(os_user()))  # its audit names who ran the demo
        upgrade()
        month = None
        for number, step in enumerate(steps, 1):
            if (step.day.year, step.day.month) != month:
                month = (step.day.year, step.day.month)
                console.print()
                console.print(f"{step.day:%B %Y}", style="bold", markup=False)
            progress.update(bar, description=f"{step.day:%-d %B %Y}: {step.do}")
            try:
                told = year.play(step)
            except CopflowError as exc:
                raise type(exc)(f"demo step {number} ({step.day}, {step.do}): {exc}") from None
            for line in lines_of(render(f"demo/{step.do}.txt", day=step.day, **told), width,
                                 first=f"  {step.day.day:>2} {step.day:%a}  "):
                console.print(line, markup=False)
            progress.advance(bar)
    return year


def web_people() -> dict[str, str | None]:
    """Someone to sign in to the web app as: a member and the convenor of a CoP still open, and a
    sponsor sent reports."""
    from sqlalchemy import select

    from models.db.tables import Community, Membership, OutboxMessage, Person
    from tasks.storage.db import session_scope
    from tasks.web_links import web_url

    with session_scope() as db:
        member = db.scalar(select(Person.email).join(Membership).join(Community)
                           .where(Community.stage != "archived", Membership.left_on.is_(None),
                                  ~Membership.is_convenor, ~Membership.planning_group).order_by(Membership.id))
        sponsor = db.scalar(select(OutboxMessage.to_email).where(OutboxMessage.template == "sponsor-report",
                                                                OutboxMessage.status == "sent"))
        convenor = db.execute(select(Person.email, Community.slug).select_from(Membership)
                              .join(Person, Person.id == Membership.person_id)
                              .join(Community, Community.id == Membership.community_id)
                              .where(Community.stage != "archived", Membership.left_on.is_(None),
                                     Membership.is_convenor).order_by(Membership.id)).first()
    return {"url": web_url(), "member": member, "sponsor": sponsor,
            "convenor": convenor.email if convenor else None, "convenor_cop": convenor.slug if convenor else None}


def say_outro(console: Console, home: Path, year: Year, steps: int, started: float) -> None:
    """Where to look: the outbox by kind, each archive (checked), the audit trail, the CoPs."""
    from sqlalchemy import select

    from models.db.tables import Community
    from tasks.archive.check import check_bundle
    from tasks.rendering import render
    from tasks.storage.db import session_scope
    from tasks.storage.settings import get_settings

    with session_scope() as db:
        communities = list(db.execute(select(Community.slug, Community.archive_uri).order_by(Community.id)))
    archives = []
    for slug, uri in communities:
        if uri:
            check = check_bundle(uri)
            archives.append({"slug": slug, "path": uri, "files": check.files, "ok": check.ok,
                             "problems": check.problems})
    outbox = get_settings().outbox_dir.resolve()
    kinds = outbox_kinds(outbox)
    example = min(outbox.glob("report_*.eml"), default=None)
    text = render("demo/outro.txt", steps=steps, flow_runs=year.flow_runs,
                  seconds=round(time.monotonic() - started), outbox=outbox,
                  outbox_total=sum(k["count"] for k in kinds), outbox_kinds=kinds, example=example,
                  archives=archives,
                  env=f"COPFLOW_HOME={home}", copflow=command_name(),
                  slugs=[s for s, _ in communities],
                  prefect_home=prefect_home(), prefect_ui=local_ui(), web=web_people())
    for line in text.splitlines():
        console.print(line, markup=False)
    if any(not a["ok"] for a in archives):
        raise CopflowError("an archive bundle did not verify against its SHA256SUMS")
