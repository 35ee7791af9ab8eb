"""Recording a session held, and planning the next one (which sends its invitation), for the
CoP's convenor and planning group: the same use cases and flows as `copflow session record`
and `copflow session plan`, with the signed-in person as the actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from models.charter import MAX_LIST_ITEMS, MAX_MEMBERS
from models.errors import CopflowError
from models.sessions import MAX_GUESTS
from models.stories import DEFAULT_CONSENT, MAX_STORIES, Consent
from models.vocabulary import SessionFormat
from web import forms
from web.convening import Decider, Ran, checked_first, on_the_web, opening, posting, run_flow_for
from web.cop_reads import email_of, people_of
from web.pages import page
from web.signin import CsrfField, FormText

router = APIRouter()
Many = Annotated[list[str] | None, Form()]
SESSION_OPTIONS = {"--on": "held_on", "--attended": "attended", "--guests": "guests", "--teller": "teller",
                   "--format": "format", "--topic": "topics", "--method": "methods", "--output": "outputs",
                   "--story": "stories", "--consent": "consent"}
PLAN_OPTIONS = {"--on": "starts_at", "--agenda": "agenda"}


@dataclass
class SessionForm:
    held_on: str = ""
    attended: tuple[str, ...] = ()
    guests: str = "0"
    format: str = ""
    topics: str = ""
    methods: str = ""
    outputs: str = ""
    stories: tuple[str, ...] = ("", "", "")
    consent: str = DEFAULT_CONSENT.value
    teller: str = ""


def _session_page(request: Request, d: Decider, form: SessionForm, status: int = 200,
                  problems: dict[str, str] | None = None) -> Response:
    return page(request, "record-session.html", status, cop=d.cop, people=people_of(d.cop.slug), form=form,
                formats=[f.value for f in SessionFormat], consents=[c.value for c in Consent],
                problems=problems or {}, max_guests=MAX_GUESTS)


@router.get("/cops/{slug}/sessions/new")
def session_form(request: Request, slug: str) -> Response:
    d = opening(request, slug)
    if not isinstance(d, Decider):
        return d
    return _session_page(request, d, SessionForm(held_on=date.today().isoformat()))


def _person_id(value: str, field: str) -> int:
    if not value.strip().isdigit() or len(value.strip()) > 18:
        raise forms.FieldProblem(field, "choose people from the list")
    return int(value)


def _details(slug: str, form: SessionForm) -> dict[str, Any]:
    """What the use case and the flow are given, checked as the command line checks it."""
    if len(form.attended) > MAX_MEMBERS:
        raise forms.FieldProblem("attended", f"at most {MAX_MEMBERS} people")
    teller = _person_id(form.teller, "teller") if form.teller else None
    if form.format and form.format not in {f.value for f in SessionFormat}:
        raise forms.FieldProblem("format", "choose one of the formats listed")
    if form.consent not in {c.value for c in Consent}:
        raise forms.FieldProblem("consent", "choose named, anonymous or private")
    stories = [s for s in form.stories if s.strip()]
    if len(stories) > MAX_STORIES:
        raise forms.FieldProblem("stories", f"at most {MAX_STORIES} stories")
    return {
        "held_on": forms.day(form.held_on, "held_on"),
        "attended": [_person_id(a, "attended") for a in form.attended],
        "guests": forms.whole(form.guests, "guests", 0, MAX_GUESTS),
        "format": SessionFormat(form.format) if form.format else None,
        "topics": forms.lines(form.topics, "OneLine", "topics", MAX_LIST_ITEMS),
        "methods": forms.lines(form.methods, "OneLine", "methods", MAX_LIST_ITEMS),
        "outputs": forms.lines(form.outputs, "OneLine", "outputs", MAX_LIST_ITEMS),
        "stories": [forms.checked(s, "LongText", "stories") for s in stories],
        "consent": Consent(form.consent),
        "teller": teller,
    }


def _record(d: Decider, details: dict[str, Any]) -> Ran:
    """A launching CoP's first session through the record-session flow (it changes the stage);
    a routine one through the use case alone, as the command line does."""
    from flows.requests import SessionRequest
    from tasks.usecases.sessions import check_session, makes_active, record_session

    slug, today, teller_id = d.cop.slug, date.today(), details.pop("teller")
    teller = email_of(slug, teller_id, current=False) if teller_id is not None else None
    if teller_id is not None and teller is None:
        raise forms.FieldProblem("teller", "choose one of the community's members")
    first = checked_first(lambda db: makes_active(db, slug) and bool(check_session(
        db, slug, held_on=details["held_on"], attended=details["attended"], actor=d.me.email, today=today,
        guests=details["guests"], teller=teller)))
    if first:
        return run_flow_for("record-session", slug, SessionRequest(
            slug=slug, actor_id=d.me.person_id, today=today, teller_id=teller_id, **details))
    with on_the_web() as db:
        held = record_session(db, slug, actor=d.me.email, today=today, teller=teller, **details)
        count = len(held.attendance) + held.guests
    return Ran(notes=[f"session on {details['held_on']} recorded for {slug}: {count} attended"])


@router.post("/cops/{slug}/sessions/new")
def record(request: Request, slug: str, sent_csrf: CsrfField = "", held_on: FormText = "",
           attended: Many = None, guests: FormText = "0", format: FormText = "", topics: FormText = "",
           methods: FormText = "", outputs: FormText = "", stories: Many = None,
           consent: FormText = DEFAULT_CONSENT.value, teller: FormText = "") -> Response:
    d = posting(request, slug, sent_csrf)
    if not isinstance(d, Decider):
        return d
    form = SessionForm(held_on[:40], tuple(attended or ()), guests[:20], format[:40], topics, methods, outputs,
                       tuple((stories or [])[:MAX_STORIES + 1]) or ("",), consent[:40], teller[:20])
    try:
        ran = _record(d, _details(slug, form))
    except CopflowError as exc:
        return _session_page(request, d, form, 400 if exc.exit_code == 2 else 403,
                             forms.problems_of(exc, SESSION_OPTIONS))
    return page(request, "recorded.html", cop=d.cop, what="session", ran=ran)


@router.get("/cops/{slug}/sessions/plan")
def plan_form(request: Request, slug: str) -> Response:
    d = opening(request, slug)
    if not isinstance(d, Decider):
        return d
    return page(request, "plan-session.html", cop=d.cop, starts_at="", agenda="", problems={})


@router.post("/cops/{slug}/sessions/plan")
def plan(request: Request, slug: str, sent_csrf: CsrfField = "", starts_at: FormText = "",
         agenda: FormText = "") -> Response:
    from flows.requests import PlanRequest
    from tasks.usecases.planning_sessions import check_plan

    d = posting(request, slug, sent_csrf)
    if not isinstance(d, Decider):
        return d
    today = date.today()
    try:
        start = forms.moment(starts_at, "starts_at")
        items = forms.lines(agenda, "OneLine", "agenda", MAX_LIST_ITEMS)
        checked_first(lambda db: check_plan(db, slug, starts_at=start, actor=d.me.email, today=today))
        ran = run_flow_for("plan-session", slug, PlanRequest(slug=slug, starts_at=start, agenda=items,
                                                             actor_id=d.me.person_id, today=today))
    except CopflowError as exc:
        return page(request, "plan-session.html", 400 if exc.exit_code == 2 else 403, cop=d.cop,
                    starts_at=starts_at[:40], agenda=agenda[:forms.MAX_FIELD],
                    problems=forms.problems_of(exc, PLAN_OPTIONS))
    return page(request, "recorded.html", cop=d.cop, what="plan", ran=ran)
