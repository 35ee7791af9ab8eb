"""Planning tasks for the convenor and planning group: add, reassign, complete. The same use
cases as `copflow task add|reassign|done`, with the signed-in person as the actor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from models.errors import CopflowError
from web import forms
from web.convening import Decider, on_the_web, opening, posting
from web.cop_reads import email_of, people_of, tasks_of
from web.pages import page
from web.signin import CsrfField, FormText

router = APIRouter()
OPTIONS = {"TITLE": "title", "--due": "due", "--notes": "notes", "--to": "to"}
DONE = ("added", "reassigned", "completed")


def _tasks_page(request: Request, d: Decider, status: int = 200, problems: dict[str, str] | None = None,
                form: dict[str, str] | None = None, task_id: int | None = None) -> Response:
    done = request.query_params.get("done")
    return page(request, "tasks.html", status, cop=d.cop, tasks=tasks_of(d.cop.slug, date.today()),
                people=people_of(d.cop.slug).members, problems=problems or {}, task_id=task_id,
                form=form or {"title": "", "due": "", "notes": ""}, done=done if done in DONE else None)


@router.get("/cops/{slug}/tasks")
def tasks(request: Request, slug: str) -> Response:
    d = opening(request, slug)
    return d if not isinstance(d, Decider) else _tasks_page(request, d)


def _act(request: Request, d: Decider, act: Callable[[Session], object], done: str,
         form: dict[str, str] | None = None, task_id: int | None = None) -> Response:
    """Do it in one transaction on the web channel; a refusal changes nothing and is shown."""
    try:
        with on_the_web() as db:
            act(db)
    except CopflowError as exc:
        problems = forms.problems_of(exc, OPTIONS)
        if task_id is not None:  # a problem with one task's form is shown beside that task
            problems = {f"{name}-{task_id}" if name else "": text for name, text in problems.items()}
        return _tasks_page(request, d, 400 if exc.exit_code == 2 else 403, problems, form, task_id)
    return RedirectResponse(f"/cops/{d.cop.slug}/tasks?done={done}", status_code=303)


@router.post("/cops/{slug}/tasks/add")
def add(request: Request, slug: str, sent_csrf: CsrfField = "", title: FormText = "", due: FormText = "",
        notes: FormText = "") -> Response:
    from tasks.usecases.planning_tasks import add_task

    d = posting(request, slug, sent_csrf)
    if not isinstance(d, Decider):
        return d
    form = {"title": title[:forms.MAX_FIELD], "due": due[:40], "notes": notes[:forms.MAX_FIELD]}

    def act(db: Session) -> object:
        checked_title = forms.checked(title, "OneLine", "title")
        due_on = forms.day(due, "due") if due.strip() else None
        checked_notes = forms.checked(notes, "LongText", "notes") if notes.strip() else None
        return add_task(db, slug, title=checked_title, due=due_on, notes=checked_notes, actor=d.me.email,
                        today=date.today())
    return _act(request, d, act, "added", form)


def _task_id(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 19 else 0  # 0: no such task, said by the use case


@router.post("/cops/{slug}/tasks/{task_id}/reassign")
def reassign(request: Request, slug: str, task_id: str, sent_csrf: CsrfField = "", to: FormText = "") -> Response:
    from tasks.usecases.planning_tasks import reassign_task

    d = posting(request, slug, sent_csrf)
    if not isinstance(d, Decider):
        return d
    number = _task_id(task_id)

    def act(db: Session) -> object:
        email = email_of(slug, int(to)) if to.isdigit() and len(to) < 19 else None
        if email is None:
            raise forms.FieldProblem("to", "choose a current member from the list")
        return reassign_task(db, slug, number, email, actor=d.me.email, today=date.today())
    return _act(request, d, act, "reassigned", task_id=number)


@router.post("/cops/{slug}/tasks/{task_id}/complete")
def complete(request: Request, slug: str, task_id: str, sent_csrf: CsrfField = "") -> Response:
    from tasks.usecases.planning_tasks import complete_task

    d = posting(request, slug, sent_csrf)
    if not isinstance(d, Decider):
        return d
    number = _task_id(task_id)
    return _act(request, d, lambda db: complete_task(db, slug, number, actor=d.me.email, today=date.today()),
                "completed", task_id=number)
