"""What the convenor's and planning group's record pages share: who may open them, doing a use
case as the signed-in person on the web channel, and running the CLI's flows for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.db.tables import Community, OutboxMessage
from tasks.storage.audit import CHANNEL
from tasks.storage.db import read_scope, session_scope
from tasks.usecases import sign_in as auth
from web.acting import CHANNEL_WEB
from web.member import to_sign_in
from web.pages import csrf_ok, page
from web.reads import MyCommunity, my_communities
from web.signin import refused_form, signed_in

T = TypeVar("T")


@dataclass(frozen=True)
class Decider:
    """The signed-in person, and the CoP they convene or plan."""

    me: auth.Viewer
    cop: MyCommunity


def not_found(request: Request) -> Response:
    # A CoP they do not decide for gets the same answer as one that does not exist.
    return page(request, "error.html", 404, title_key="not-found")


def _theirs(me: auth.Viewer, slug: str) -> MyCommunity | None:
    with read_scope() as db:
        found = my_communities(db, me.person_id, date.today(), slug=slug)
    cop = found[0] if found else None
    return cop if cop is not None and (cop.is_convenor or cop.planning_group) else None


def opening(request: Request, slug: str) -> Decider | Response:
    """For a page: the decider, or the sign-in page, or not found."""
    me = signed_in(request)
    if me is None:
        return to_sign_in(request)
    cop = _theirs(me, slug)
    return not_found(request) if cop is None else Decider(me, cop)


def posting(request: Request, slug: str, sent_csrf: str) -> Decider | Response:
    """For a form: refused with nothing done unless this browser's own token came with it and the
    signed-in person convenes or plans this CoP (the use case's guards decide the rest)."""
    me = signed_in(request)
    if not csrf_ok(request, sent_csrf):
        return refused_form(request)
    if me is None:
        return to_sign_in(request)
    cop = _theirs(me, slug)
    return not_found(request) if cop is None else Decider(me, cop)


@contextmanager
def on_the_web() -> Iterator[Session]:
    """One transaction whose audit entries say the web was the channel."""
    with session_scope() as db:
        db.info[CHANNEL] = CHANNEL_WEB
        yield db


def checked_first(check: Callable[[Session], T]) -> T:
    """A use case's own checks, rolled back: nothing is changed (as the CLI's precheck)."""
    from tasks.storage.db import _sessionmaker, engine

    with _sessionmaker(engine())() as db:
        try:
            return check(db)
        finally:
            db.rollback()


@dataclass
class Ran:
    """What a record did, to show: its own lines, and who was emailed."""

    notes: list[str]
    emailed: list[tuple[str, str]] = field(default_factory=list)  # (name, status)
    stage_before: str | None = None
    stage_after: str | None = None
    elsewhere: str | None = None  # a run on a worker: which run, and how it ended


def _last_outbox_id() -> int:
    with read_scope() as db:
        return int(db.scalar(select(func.max(OutboxMessage.id))) or 0)


def _emailed(slug: str, after_id: int) -> list[tuple[str, str]]:
    with read_scope() as db:
        rows = db.execute(select(OutboxMessage.to_name, OutboxMessage.status)
                          .join(Community, Community.id == OutboxMessage.community_id)
                          .where(Community.slug == slug, OutboxMessage.id > after_id)
                          .order_by(OutboxMessage.id)).all()
    return [(r.to_name, r.status) for r in rows]


def run_flow_for(name: str, slug: str, request: BaseModel) -> Ran:
    """Run the CLI's flow (through the Prefect server when deployed there), asked for from the
    web: blocking, so only from a sync route. A refusal inside the run raises CopflowError."""
    import os

    from flows.runtime.dispatch import run_flow
    from flows.runtime.through_server import RemoteRun

    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    before = _last_outbox_id()
    result: Any = run_flow(name, request.model_copy(update={"channel": CHANNEL_WEB, "operator": None}))
    emailed = _emailed(slug, before)
    if isinstance(result, RemoteRun):
        return Ran(notes=[], emailed=emailed, elsewhere=str(result))
    ours = result.communities[0] if result.communities else None
    return Ran(notes=[n for c in result.communities for n in c.notes], emailed=emailed,
               stage_before=ours.stage_before if ours else None, stage_after=ours.stage_after if ours else None)
