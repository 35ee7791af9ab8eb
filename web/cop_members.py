"""Members for the convenor and planning group: add one, or record that one has left. The same
use cases (and, for a planning lead leaving, the same step-down flow) as `copflow member add`
and `copflow member leave`, with the signed-in person as the actor."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from models.errors import CopflowError
from models.vocabulary import MemberKind
from web import forms
from web.convening import Decider, Ran, checked_first, on_the_web, opening, posting, run_flow_for
from web.cop_reads import email_of, people_of
from web.pages import page
from web.signin import CsrfField, FormText

router = APIRouter()
OPTIONS = {"--name": "name", "--email": "email", "--kind": "kind"}
BLANK = {"name": "", "email": "", "kind": MemberKind.practitioner.value, "planning_group": ""}


def _members_page(request: Request, d: Decider, status: int = 200, problems: dict[str, str] | None = None,
                  form: dict[str, str] | None = None) -> Response:
    done = request.query_params.get("done")
    return page(request, "members.html", status, cop=d.cop, people=people_of(d.cop.slug).members,
                kinds=[k.value for k in MemberKind], problems=problems or {}, form=form or BLANK,
                done=done if done in ("added", "left") else None)


@router.get("/cops/{slug}/members")
def members(request: Request, slug: str) -> Response:
    d = opening(request, slug)
    return d if not isinstance(d, Decider) else _members_page(request, d)


@router.post("/cops/{slug}/members/add")
def add(request: Request, slug: str, sent_csrf: CsrfField = "", name: FormText = "", email: FormText = "",
        kind: FormText = MemberKind.practitioner.value, planning_group: FormText = "") -> Response:
    from tasks.usecases.membership import add_member

    d = posting(request, slug, sent_csrf)
    if not isinstance(d, Decider):
        return d
    form = {"name": name[:forms.MAX_FIELD], "email": email[:400], "kind": kind[:40],
            "planning_group": planning_group[:10]}
    try:
        if kind not in {k.value for k in MemberKind}:
            raise forms.FieldProblem("kind", "choose one of the kinds listed")
        checked_name, address = forms.checked(name, "PersonName", "name"), forms.checked(email, "Email", "email")
        with on_the_web() as db:
            add_member(db, slug, name=checked_name, email=address, kind=MemberKind(kind),
                       planning_group=bool(planning_group), actor=d.me.email, today=date.today())
    except CopflowError as exc:
        return _members_page(request, d, 400 if exc.exit_code == 2 else 403, forms.problems_of(exc, OPTIONS), form)
    return RedirectResponse(f"/cops/{slug}/members?done=added", status_code=303)


@router.post("/cops/{slug}/members/{person_id}/remove")
def remove(request: Request, slug: str, person_id: str, sent_csrf: CsrfField = "") -> Response:
    d = posting(request, slug, sent_csrf)
    if not isinstance(d, Decider):
        return d
    email = email_of(slug, int(person_id)) if person_id.isdigit() and len(person_id) < 19 else None
    try:
        if email is None:
            raise forms.FieldProblem("", f"no current member {person_id[:20]} in {slug}")
        ran = _leave(d, email)
    except CopflowError as exc:
        return _members_page(request, d, 400 if exc.exit_code == 2 else 403, forms.problems_of(exc, {}))
    if ran is not None:  # a planning lead left: the next was chosen, and told
        return page(request, "recorded.html", cop=d.cop, what="left", ran=ran)
    return RedirectResponse(f"/cops/{slug}/members?done=left", status_code=303)


def _leave(d: Decider, email: str) -> Ran | None:
    """As `copflow member leave`: a planning lead leaving goes through the step-down flow (the next
    lead follows at once, with the handover emails); anyone else through the use case."""
    from flows.requests import StepDownRequest
    from tasks.usecases.membership import leave
    from tasks.usecases.step_down import leading_member

    slug, today = d.cop.slug, date.today()

    def lead(db: Session) -> int | None:
        member = leading_member(db, slug, email)
        if member is not None:  # refused here, before the run starts, as the command line does
            leave(db, slug, email, actor=d.me.email, today=today)
        return member
    member = checked_first(lead)
    if member is not None:
        return run_flow_for("step-down", slug, StepDownRequest(slug=slug, member=member, leaving=True,
                                                               actor_id=d.me.person_id, today=today))
    with on_the_web() as db:
        leave(db, slug, email, actor=d.me.email, today=today)
    return None
