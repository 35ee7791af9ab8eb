"""Signing in by a one-time link sent to one's own address, and signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from tasks.usecases import sign_in as auth
from web.pages import csrf_ok, csrf_token, page, safe_next

router = APIRouter()
SID = "sid"  # the key in the signed session cookie
FormText = Annotated[str, Form()]
CsrfField = Annotated[str, Form(alias="csrf_token")]  # every form carries it


def signed_in(request: Request, db: Connection | None = None) -> auth.Viewer | None:
    found = auth.viewer(request.session.get(SID), db)
    request.state.viewer = found
    return found


def refused_form(request: Request) -> Response:
    """A form without this browser's CSRF token: nothing is done."""
    return page(request, "error.html", 403, title_key="form-expired")


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/sign-in")
def start(request: Request, next: str | None = None) -> Response:
    signed_in(request)
    return page(request, "start.html", next_path=safe_next(next), problem=None, address="")


def _deliver(outbox_id: int) -> None:
    from tasks.email.delivery import deliver_pending

    deliver_pending([outbox_id])


@router.post("/sign-in")
def ask(request: Request, background: BackgroundTasks, email: FormText = "", sent_csrf: CsrfField = "",
        next: FormText = "") -> Response:
    from pydantic import TypeAdapter, ValidationError

    from models.charter import Email
    from tasks.storage.settings import get_settings
    signed_in(request)
    next_path = safe_next(next)
    if not csrf_ok(request, sent_csrf):
        return refused_form(request)
    try:
        address = TypeAdapter(Email).validate_python(email.strip())
    except ValidationError:
        return page(request, "start.html", 400, next_path=next_path, problem="address", address=email[:320])
    asked = auth.request_sign_in(address, client_of(request), next_path)
    if asked.limited:
        return page(request, "limited.html", 429)
    if asked.outbox_id is not None:
        background.add_task(_deliver, asked.outbox_id)
    settings = get_settings()
    outbox = settings.outbox_dir.resolve() if settings.email_transport == "file" else None
    return page(request, "check-email.html", address=address, minutes=auth.SIGN_IN_MINUTES, outbox=outbox)


@router.get("/sign-in/{token}")
def open_link(request: Request, token: str) -> Response:
    # Opening the link changes nothing (mail scanners open links): a page with one button.
    signed_in(request)
    if len(token) > 100 or not auth.sign_in_usable(token):
        return page(request, "link-problem.html", 410, kind="sign-in")
    return page(request, "sign-in-confirm.html", token=token)


@router.post("/sign-in/{token}")
def use_link(request: Request, token: str, sent_csrf: CsrfField = "") -> Response:
    signed_in(request)
    if not csrf_ok(request, sent_csrf):
        return refused_form(request)
    started = auth.use_sign_in(token) if len(token) <= 100 else None
    if started is None:
        return page(request, "link-problem.html", 410, kind="sign-in")
    request.session.clear()  # a fresh session: nothing from before signing in carries over
    request.session[SID] = started.session_id
    csrf_token(request)  # and a new CSRF token with it
    return RedirectResponse(safe_next(started.next_path) or "/", status_code=303)


@router.post("/sign-out")
def sign_out(request: Request, sent_csrf: CsrfField = "") -> Response:
    if not csrf_ok(request, sent_csrf):
        signed_in(request)
        return refused_form(request)
    auth.end_session(request.session.get(SID))
    request.session.clear()
    request.state.viewer = None
    return page(request, "signed-out.html")
