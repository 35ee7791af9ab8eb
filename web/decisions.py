"""The convenor's decisions: which are open now, a confirmation form for each, and what it did
(web/deciding.py runs them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from models.errors import BadInput, CopflowError
from tasks.usecases import sign_in as auth
from web import deciding
from web.deciding import MAX_NOTICE_DAYS, MAX_REASON, OPEN, Asked, Look, decide, look
from web.member import to_sign_in
from web.pages import csrf_ok, page
from web.signin import CsrfField, refused_form, signed_in

router = APIRouter()
FormText = Annotated[str, Form()]


def _not_found(request: Request) -> Response:
    return page(request, "error.html", 404, title_key="not-found")


def _refused(request: Request, error: CopflowError) -> Response:
    return page(request, "error.html", 403 if error.exit_code == 3 else 400, title_key="refused",
                message=str(error))


def _who(request: Request, slug: str) -> tuple[auth.Viewer | None, Look | None]:
    me = signed_in(request)
    return me, (look(slug, me.person_id, me.email) if me is not None else None)


@router.get("/cops/{slug}/decide")
def decisions(request: Request, slug: str) -> Response:
    me, cop = _who(request, slug)
    if me is None:
        return to_sign_in(request)
    if cop is None:  # not part of it: the same answer as a CoP that does not exist
        return _not_found(request)
    if cop.refusal is not None:
        return page(request, "error.html", 403, title_key="refused", message=cop.refusal)
    return page(request, "decide.html", cop=cop, open_now=cop.open_now(), closed=None)


@router.get("/cops/{slug}/decide/{decision}")
def confirm(request: Request, slug: str, decision: str) -> Response:
    if decision not in OPEN:
        return _not_found(request)
    me, cop = _who(request, slug)
    if me is None:
        return to_sign_in(request)
    if cop is None:
        return _not_found(request)
    if cop.refusal is not None:
        return page(request, "error.html", 403, title_key="refused", message=cop.refusal)
    if decision not in cop.open_now():
        return page(request, "decide.html", 409, cop=cop, open_now=cop.open_now(), closed=decision)
    return page(request, "decide-form.html", cop=cop, decision=decision, problem=None, values={})


@router.post("/cops/{slug}/decide/{decision}")
def decide_now(request: Request, slug: str, decision: str, sent_csrf: CsrfField = "",
               drawn: FormText = "", reason: FormText = "", notice_days: FormText = "14",
               successor: FormText = "", now: FormText = "", to: FormText = "") -> Response:
    me = signed_in(request)
    if not csrf_ok(request, sent_csrf):
        return refused_form(request)
    if me is None:
        return to_sign_in(request)
    if decision not in OPEN:
        return _not_found(request)
    cop = look(slug, me.person_id, me.email)
    if cop is None:
        return _not_found(request)
    if cop.refusal is not None:
        return page(request, "error.html", 403, title_key="refused", message=cop.refusal)
    values = {"reason": reason[:MAX_REASON], "notice_days": notice_days[:6], "successor": successor[:64],
              "now": bool(now), "to": to[:12]}
    try:
        asked = _asked(decision, cop.slug, me, drawn, values)
    except BadInput as wrong:  # a field to put right: the form again, with what they typed
        return page(request, "decide-form.html", 400, cop=cop, decision=decision, problem=str(wrong),
                    values=values)
    try:
        done = decide(asked, deciding.today())
    except CopflowError as error:
        return _refused(request, error)
    return page(request, "decided.html", cop=cop, done=done, show_addresses=cop.role.value == "convenor")


def _asked(decision: str, slug: str, me: auth.Viewer, drawn: str, values: dict[str, Any]) -> Asked:
    """The form's fields, checked as the command line checks its options."""
    if not drawn.isdigit() or not 0 < int(drawn) < 2**62:
        raise BadInput("this form is incomplete: go back, reload the page, and try again")
    reason = " ".join(str(values["reason"]).split())
    if reason and decision in ("close", "withdraw"):  # a blank one is the use case's to refuse
        reason = _checked_reason(reason)
    notice = str(values["notice_days"]).strip() or "14"
    if decision == "close" and (not notice.isdigit() or int(notice) > MAX_NOTICE_DAYS):
        raise BadInput(f"Notice: give a whole number of days, from 0 to {MAX_NOTICE_DAYS}")
    to = str(values["to"])
    if decision == "hand-over" and not to.isdigit():
        raise BadInput("choose a planning-group member to take over as convenor")
    return Asked(decision=decision, slug=slug, person_id=me.person_id, email=me.email, drawn=int(drawn),
                 reason=reason, notice_days=int(notice) if notice.isdigit() else 14,
                 successor=str(values["successor"]).strip() or None, now=bool(values["now"]),
                 to=int(to) if to.isdigit() and int(to) < 2**62 else None)


def _checked_reason(reason: str) -> str:
    """The reason, checked with the charter's own type (as `--reason` is)."""
    from pydantic import TypeAdapter, ValidationError

    from models.charter import Reason

    try:
        return str(TypeAdapter(Reason).validate_python(reason))
    except ValidationError as exc:
        raise BadInput("Reason: " + exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
