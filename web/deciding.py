"""The convenor's decisions from the web app: the same checks, flows and messages as the
command line (cli/lifecycle.py, cli/roles.py), with the signed-in person as the actor and the
web as the channel. No HTTP here: web/decisions.py draws the pages.

Each decision is checked first in a rolled-back transaction (a refusal is one line and starts no
flow run), then runs its Prefect flow in this process, where Prefect and the flows are already
loaded. Both carry the CoP's version from when the person's form was drawn: a CoP changed since
(a stale form, or another person pressing the same button a moment earlier) is refused under the
row's lock, and nothing changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.db.tables import Community, OutboxMessage
from models.errors import BadInput, Refused
from models.lifecycle import DECIDERS, Role, Stage, require_may_decide
from tasks.storage.audit import CHANNEL
from tasks.storage.db import _sessionmaker, engine, session_scope
from tasks.storage.queries import current_members, get_community, role_of
from tasks.usecases.acting import as_drawn
from web.acting import CHANNEL_WEB
from web.turns import Turns

# Which decisions each stage opens (models/stages.py has the guards that say so for certain).
OPEN: dict[str, frozenset[Stage]] = {
    "launch": frozenset({Stage.proposed}),
    "withdraw": frozenset({Stage.proposed, Stage.launching}),
    "rotate": frozenset({Stage.active}),
    "close": frozenset({Stage.active}),
    "continue": frozenset({Stage.closing}),
    "archive": frozenset({Stage.closing}),
    "hand-over": frozenset({Stage.proposed, Stage.launching, Stage.active, Stage.closing}),
}
MAX_NOTICE_DAYS = 365
MAX_REASON = 2000


def today() -> date:
    """The day a decision is recorded under (one place, so a test can replay a later day)."""
    return date.today()


@dataclass(frozen=True)
class Candidate:
    person_id: int
    name: str


@dataclass(frozen=True)
class Look:
    """A CoP as one person sees it when deciding."""

    slug: str
    name: str
    stage: str
    version: int
    notice_ends_on: date | None
    role: Role
    refusal: str | None  # why this person may not decide here (the use case's own line)
    candidates: list[Candidate] = field(default_factory=list)  # who convenorship may pass to

    def open_now(self) -> list[str]:
        if self.refusal is not None:
            return []
        return [name for name, stages in OPEN.items() if Stage(self.stage) in stages
                and (name != "hand-over" or self.candidates)]


def look(slug: str, person_id: int, email: str) -> Look | None:
    """The CoP and this person's part in it; None when they are not part of it (or it is not
    there): the same answer either way."""
    with _sessionmaker(engine())() as db:
        try:
            cop = db.scalar(select(Community).where(Community.slug == slug))
            if cop is None:
                return None
            role = role_of(db, cop, email)
            if role in (Role.stranger, Role.former_member):
                return None
            return Look(slug=cop.slug, name=cop.name, stage=cop.stage, version=cop.version,
                        notice_ends_on=cop.notice_ends_on, role=role, refusal=_refusal(role, email, slug),
                        candidates=[Candidate(m.person.id, m.person.name) for m in current_members(db, cop)
                                    if m.planning_group and not m.is_convenor and m.person_id != person_id])
        finally:
            db.rollback()


def _refusal(role: Role, email: str, slug: str) -> str | None:
    if role in DECIDERS:
        return None
    try:
        require_may_decide(role, email, slug)
    except Refused as refused:
        return str(refused)
    return None


@dataclass(frozen=True)
class Emailed:
    name: str
    email: str
    template: str


@dataclass(frozen=True)
class Decided:
    """What a decision did, for the page that shows it."""

    decision: str
    stage_before: str | None
    stage_after: str | None
    notes: list[str]
    planning_lead: str | None = None
    previous_lead: str | None = None
    emailed: list[Emailed] = field(default_factory=list)
    flow_run_id: str | None = None
    run_url: str | None = None
    summary: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Asked:
    """A decision as the form sent it, already checked for shape."""

    decision: str
    slug: str
    person_id: int
    email: str
    drawn: int
    reason: str = ""
    notice_days: int = 14
    successor: str | None = None
    now: bool = False
    to: int | None = None


def decide(asked: Asked, today: date) -> Decided:
    """Check, then run; a CopflowError (refused, bad input, stale) means nothing changed."""
    watermark = _outbox_watermark()
    if asked.decision == "hand-over":
        return _hand_over(asked, today, watermark)
    check, request = PLANS[asked.decision](asked, today)
    _precheck(check, asked)
    state = _run(asked.decision, request)
    result = state.result()
    community = result.communities[0] if result.communities else None
    run_id = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
    return Decided(
        decision=asked.decision,
        stage_before=community.stage_before if community else None,
        stage_after=community.stage_after if community else None,
        notes=list(community.notes) if community else [],
        planning_lead=community.planning_lead if community else None,
        previous_lead=community.previous_lead if community else None,
        emailed=_emailed(asked.slug, watermark), flow_run_id=run_id, run_url=run_link(run_id),
        summary={"sent": result.sent, "failed": result.failed, "deferred": result.deferred,
                 "held": result.held, "for_worker": result.for_worker})


def _precheck(check: Callable[..., Any], asked: Asked) -> None:
    """The use case's own checks, as the command line asks them, rolled back."""
    with _sessionmaker(engine())() as db, as_drawn(asked.drawn):
        try:
            check(db)
        finally:
            db.rollback()


def _run(name: str, request: BaseModel) -> Any:
    """The flow, in this process (recorded by the configured Prefect API), as its final state."""
    from flows.runtime.dispatch import run_here

    _WARM.wait()  # during start-up: wait for the warming, not start a second local API beside it
    with RUNS.turn():
        return run_here(name, request, return_state=True)


RUNS = Turns()  # one decision's flow run at a time in this process (web/turns.py says why)


def _plan_launch(a: Asked, today: date) -> tuple[Callable[[Session], Any], BaseModel]:
    from flows.requests import LaunchRequest
    from tasks.usecases.launch import check_launch

    return (lambda db: check_launch(db, a.slug, a.person_id),
            LaunchRequest(slug=a.slug, **_common(a, today)))


def _plan_rotate(a: Asked, today: date) -> tuple[Callable[[Session], Any], BaseModel]:
    from flows.requests import RotateRequest
    from tasks.usecases.rotate import check_rotate

    return (lambda db: check_rotate(db, a.slug, a.person_id),
            RotateRequest(slug=a.slug, **_common(a, today)))


def _plan_close(a: Asked, today: date) -> tuple[Callable[[Session], Any], BaseModel]:
    from flows.requests import CloseRequest
    from tasks.usecases.close import check_close

    return (lambda db: check_close(db, a.slug, a.person_id, a.reason, a.successor, a.notice_days),
            CloseRequest(slug=a.slug, reason=a.reason, successor=a.successor, notice_days=a.notice_days,
                         **_common(a, today)))


def _plan_continue(a: Asked, today: date) -> tuple[Callable[[Session], Any], BaseModel]:
    from flows.requests import ContinueRequest
    from tasks.usecases.close import check_continue

    return (lambda db: check_continue(db, a.slug, a.person_id),
            ContinueRequest(slug=a.slug, **_common(a, today)))


def _plan_withdraw(a: Asked, today: date) -> tuple[Callable[[Session], Any], BaseModel]:
    from flows.requests import WithdrawRequest
    from tasks.usecases.withdraw import check_withdraw

    return (lambda db: check_withdraw(db, a.slug, a.person_id, a.reason),
            WithdrawRequest(slug=a.slug, reason=a.reason, **_common(a, today)))


def _plan_archive(a: Asked, today: date) -> tuple[Callable[[Session], Any], BaseModel]:
    from flows.requests import ArchiveRequest
    from tasks.usecases.archive import check_archive

    return (lambda db: check_archive(db, a.slug, a.person_id, now=a.now, today=today),
            ArchiveRequest(slug=a.slug, now=a.now, **_common(a, today)))


def _common(a: Asked, today: date) -> dict[str, Any]:
    """What every decision's request carries: who (an id, never an address), from where, and
    the CoP's version the person saw. No operator: online, the change is the person's own."""
    return {"actor_id": a.person_id, "today": today, "operator": None, "channel": CHANNEL_WEB,
            "drawn_version": a.drawn}


PLANS: dict[str, Callable[[Asked, date], tuple[Callable[[Session], Any], BaseModel]]] = {
    "launch": _plan_launch, "rotate": _plan_rotate, "close": _plan_close, "continue": _plan_continue,
    "withdraw": _plan_withdraw, "archive": _plan_archive,
}


def _hand_over(asked: Asked, today: date, watermark: int) -> Decided:
    """Convenorship passes on: a use case with no email and no flow (as `copflow member convenor`)."""
    from models.db.tables import Person
    from tasks.storage.queries import convenor_of
    from tasks.usecases.roles import hand_convenor

    with session_scope() as db, as_drawn(asked.drawn):
        db.info[CHANNEL] = CHANNEL_WEB
        target = db.get(Person, asked.to) if asked.to is not None else None
        if target is None or target.email is None:
            raise BadInput("choose a planning-group member to take over as convenor")
        former = convenor_of(db, get_community(db, asked.slug))
        former_name = former.person.name if former else None
        name = hand_convenor(db, asked.slug, target.email, actor=asked.email, today=today).person.name
    return Decided(decision="hand-over", stage_before=None, stage_after=None, notes=[],
                   previous_lead=former_name, planning_lead=name, emailed=_emailed(asked.slug, watermark))


def _outbox_watermark() -> int:
    with session_scope() as db:
        return db.scalar(select(func.max(OutboxMessage.id))) or 0


def _emailed(slug: str, after: int) -> list[Emailed]:
    """Who this decision's emails went to: rows queued for the CoP since it began."""
    with session_scope() as db:
        cop = db.scalar(select(Community.id).where(Community.slug == slug))
        rows = db.execute(select(OutboxMessage.to_name, OutboxMessage.to_email, OutboxMessage.template)
                          .where(OutboxMessage.community_id == cop, OutboxMessage.id > after)
                          .order_by(OutboxMessage.id)).all()
    return [Emailed(name=r.to_name, email=r.to_email, template=r.template) for r in rows]


def run_link(flow_run_id: str | None) -> str | None:
    """The run's page in the Prefect UI, when a Prefect server is configured (the embedded API
    has no UI to link to)."""
    from flows.runtime.dispatch import server_url

    api = server_url()
    if flow_run_id is None or not api:
        return None
    from prefect.settings import PREFECT_UI_URL

    ui = PREFECT_UI_URL.value() or api.rstrip("/").removesuffix("/api")
    return f"{ui.rstrip('/')}/runs/flow-run/{flow_run_id}"


_WARM = threading.Event()
_WARM.set()  # nothing to wait for until start_warming() is called (tests never call it)


def start_warming() -> None:
    """Load the flows and reach the Prefect API once, in the background (starting copflow's
    local Prefect server when no server is configured), so the first decision does not pay for either."""
    _WARM.clear()
    threading.Thread(target=_warm_then_open, name="copflow-warm-prefect", daemon=True).start()


def _warm_then_open() -> None:
    try:
        warm()
    finally:
        _WARM.set()


def warm() -> None:
    """Best effort: a failure here shows again, with its own message, when someone decides."""
    from flows.runtime.dispatch import FLOWS, api_for_here, load_flow, private_files, settings_for_here

    for name in PLANS:
        load_flow(name)
    assert set(PLANS) <= set(FLOWS)
    try:
        import prefect.flow_engine
        import prefect.task_engine  # noqa: F401 - loaded now, not by the first run
        from prefect.client.orchestration import get_client

        # What the first run would otherwise pay for: a run's settings, the local API's start,
        # the once-per-process version check, and the API's first read of a run.
        with private_files(), settings_for_here(api_for_here()), get_client(sync_client=True) as client:
            client.raise_for_api_version_mismatch_once()
            client.read_flow_runs(limit=1)
    except Exception:  # noqa: S110 - warming is an optimisation only
        pass
