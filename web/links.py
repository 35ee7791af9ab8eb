"""Links in members' emails: opening one shows a page with one button; only that button acts.

Each link is signed, single-purpose, bound to one person and one CoP, and expires; once used it
is recorded (hashed) in the same transaction as the action, so it works once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db.tables import WebToken
from models.errors import CopflowError
from tasks.storage.db import insert_if_absent, read_scope
from tasks.usecases import sign_in as auth
from tasks.web_links import LINK_DAYS, ActionLink, LinkProblem, read_action_token, token_hash
from web import acting
from web.pages import csrf_ok, page
from web.reads import MyCommunity, community_name, my_communities
from web.signin import CsrfField, refused_form, signed_in

router = APIRouter()
MAX_TOKEN = 400


def _check(token: str) -> tuple[ActionLink, MyCommunity, str] | str:
    """The link, the member's CoP and their address; or why not (a template key)."""
    if len(token) > MAX_TOKEN:
        return "not valid"
    try:
        link = read_action_token(token)
    except LinkProblem as problem:
        return str(problem)
    from models.db.schema import person

    with read_scope() as db:
        if db.scalar(select(WebToken.id).where(WebToken.token_hash == token_hash(token))) is not None:
            return "used"
        email = db.scalar(select(person.c.email).where(person.c.id == link.person_id))
        names = community_name(db, link.community_id)
        mine = my_communities(db, link.person_id, date.today(), slug=names[0]) if names else []
    if email is None or not mine:
        return "not a member"
    return link, mine[0], email


def _checked_for(request: Request, token: str) -> tuple[ActionLink, MyCommunity, str] | str:
    """As _check, and refused in a browser signed in as someone else: a link acts only for the
    person it was sent to."""
    me = signed_in(request)
    checked = _check(token)
    if not isinstance(checked, str) and me is not None and me.person_id != checked[0].person_id:
        return "someone else"
    return checked


@router.get("/act/{token}")
def open_link(request: Request, token: str) -> Response:
    checked = _checked_for(request, token)
    if isinstance(checked, str):
        return page(request, "link-problem.html", 410, kind=checked)
    link, cop, _ = checked
    return page(request, "confirm.html", action=link.action, cop_name=cop.name, post_to=f"/act/{token}",
                back=None)


def _spend(token: str, link: ActionLink) -> Callable[[Session], bool]:
    def spend(db: Session) -> bool:
        at = auth.now()
        return insert_if_absent(db, WebToken, {
            "purpose": "action", "token_hash": token_hash(token), "person_id": link.person_id,
            "created_at": at, "expires_at": at + timedelta(days=LINK_DAYS)}, unique=["token_hash"])
    return spend


@router.post("/act/{token}")
def use_link(request: Request, token: str, sent_csrf: CsrfField = "") -> Response:
    if not csrf_ok(request, sent_csrf):
        signed_in(request)
        return refused_form(request)
    checked = _checked_for(request, token)
    if isinstance(checked, str):
        return page(request, "link-problem.html", 410, kind=checked)
    link, cop, email = checked
    try:
        if not acting.run(link.action, cop.slug, email, before=_spend(token, link)):
            return page(request, "link-problem.html", 410, kind="used")
    except CopflowError as exc:
        return page(request, "error.html", 403 if exc.exit_code == 3 else 400, title_key="refused",
                    message=str(exc))
    return page(request, "done.html", action=link.action, cop_name=cop.name)
