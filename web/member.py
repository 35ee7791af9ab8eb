"""A member's own pages: their CoPs, the next session, and what they may do for themselves."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from models.errors import CopflowError
from tasks.storage.audit import CHANNEL
from tasks.storage.db import read_scope, session_scope
from tasks.usecases import sign_in as auth
from web import acting
from web.console import console_for
from web.pages import csrf_ok, page
from web.portfolio import is_programme_staff
from web.reads import MyCommunity, my_communities, reports_sent_to
from web.signin import CsrfField, refused_form, signed_in

router = APIRouter()


def to_sign_in(request: Request) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)


@router.get("/")
def home(request: Request) -> Response:
    with read_scope() as db:  # who, and what they see, in one read
        me = signed_in(request, db)
        if me is not None:
            mine = my_communities(db, me.person_id, date.today())
            reports = len(reports_sent_to(db, me.email))
    if me is None:
        return page(request, "start.html", next_path=None, problem=None, address="")
    return page(request, "home.html", communities=mine, reports=reports, staff=is_programme_staff(me))


def _mine(me: auth.Viewer, slug: str, db: Connection | None = None) -> MyCommunity | None:
    if db is None:
        with read_scope() as own:
            return _mine(me, slug, own)
    found = my_communities(db, me.person_id, date.today(), slug=slug)
    return found[0] if found else None


@router.get("/cops/{slug}")
def community_page(request: Request, slug: str) -> Response:
    with read_scope() as db:
        me = signed_in(request, db)
        cop = _mine(me, slug, db) if me is not None else None
        desk = console_for(db, cop, date.today())  # the convenor's and planning group's sections
    if me is None:
        return to_sign_in(request)
    if cop is None:  # not one of theirs: the same answer as a CoP that does not exist
        return page(request, "error.html", 404, title_key="not-found")
    return page(request, "community.html", cop=cop, done=request.query_params.get("done"),
                console=desk[0] if desk else None, chart=desk[1] if desk else None)


@router.get("/cops/{slug}/leave")
def confirm_leave(request: Request, slug: str) -> Response:
    me = signed_in(request)
    if me is None:
        return to_sign_in(request)
    cop = _mine(me, slug)
    if cop is None:
        return page(request, "error.html", 404, title_key="not-found")
    return page(request, "confirm.html", action="leave", cop_name=cop.name, post_to=f"/cops/{cop.slug}/leave",
                back=f"/cops/{cop.slug}")


@router.post("/cops/{slug}/{action}")
def member_action(request: Request, slug: str, action: str, sent_csrf: CsrfField = "") -> Response:
    me = signed_in(request)
    if not csrf_ok(request, sent_csrf):
        return refused_form(request)
    if me is None:
        return to_sign_in(request)
    if action not in acting.ACTIONS:
        return page(request, "error.html", 404, title_key="not-found")
    cop = _mine(me, slug)
    if cop is None:
        return page(request, "error.html", 404, title_key="not-found")
    try:
        acting.run(action, cop.slug, me.email)
    except CopflowError as exc:
        return page(request, "error.html", 403 if exc.exit_code == 3 else 400, title_key="refused",
                    message=str(exc))
    if action == "leave":
        return page(request, "done.html", action=action, cop_name=cop.name)
    return RedirectResponse(f"/cops/{cop.slug}?done={action}", status_code=303)


@router.get("/address")
def address_form(request: Request) -> Response:
    me = signed_in(request)
    if me is None:
        return to_sign_in(request)
    return page(request, "address.html", problem=None, value="")


@router.post("/address")
def change_address(request: Request, sent_csrf: CsrfField = "",
                   email: Annotated[str, Form()] = "") -> Response:
    from tasks.usecases.change_address import change_address as change

    me = signed_in(request)
    if not csrf_ok(request, sent_csrf):
        return refused_form(request)
    if me is None:
        return to_sign_in(request)
    try:
        with session_scope() as db:
            db.info[CHANNEL] = acting.CHANNEL_WEB
            change(db, me.email, email[:320], actor=me.email, today=date.today())
    except CopflowError as exc:
        return page(request, "address.html", 400, problem=str(exc), value=email[:320])
    return page(request, "done.html", action="address", cop_name=None)
