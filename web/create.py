"""Creating a CoP, from a form or an uploaded charter file, with the charter's own checks
(tasks/charter_file.py, models/charter.py) and errors that name the field. The signed-in person
is the charter's convenor: on the form they are filled in; in a file they must be the one named."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from models.charter import MAX_MEMBERS, MAX_SPONSORS, Charter
from models.errors import BadInput, CopflowError
from models.vocabulary import Cadence, MemberKind, ReportPeriod, SessionFormat
from tasks.charter_file import MAX_CHARTER_BYTES, field_path, parse_charter
from tasks.usecases import sign_in as auth
from web import forms
from web.convening import on_the_web
from web.member import to_sign_in
from web.pages import csrf_ok, page
from web.signin import refused_form, signed_in

router = APIRouter()
MAX_BODY = MAX_CHARTER_BYTES + 64 * 1024  # a charter file and the form's other fields
TEXT_FIELDS = ("name", "slug", "domain", "practice", "cadence", "sponsor_reports", "first_session", "format",
               "location", "sponsors", "members")
BLANK = {"name": "", "slug": "", "domain": "", "practice": "", "cadence": Cadence.monthly.value,
         "sponsor_reports": ReportPeriod.quarterly.value, "first_session": "", "format": SessionFormat.online.value,
         "location": "", "sponsors": "", "members": ""}
NAMED = re.compile(r"^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?: ")  # 'members[1].name: ...' as the checks say


def _new_page(request: Request, status: int = 200, problems: dict[str, str] | None = None,
              form: dict[str, str] | None = None) -> Response:
    return page(request, "new.html", status, form=form or BLANK, problems=problems or {},
                cadences=[c.value for c in Cadence], periods=[p.value for p in ReportPeriod],
                formats=[f.value for f in SessionFormat], kinds=[k.value for k in MemberKind],
                max_kib=MAX_CHARTER_BYTES // 1024)


@router.get("/new")
def new_form(request: Request) -> Response:
    if signed_in(request) is None:
        return to_sign_in(request)
    return _new_page(request)


@router.post("/new")
async def create(request: Request) -> Response:
    me = await run_in_threadpool(signed_in, request)
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_BODY:  # refused unread: nothing is stored or parsed
        return await run_in_threadpool(page, request, "error.html", 413, title_key="too-large")
    try:
        form = await request.form(max_files=1, max_fields=len(TEXT_FIELDS) + 4)
    except Exception:  # a malformed or overfull body: refused, nothing done
        return await run_in_threadpool(page, request, "error.html", 400, title_key="bad-request")
    sent = form.get("csrf_token")
    if not csrf_ok(request, sent if isinstance(sent, str) else None):
        return await run_in_threadpool(refused_form, request)
    if me is None:
        return to_sign_in(request)
    upload = form.get("charter")
    if isinstance(upload, UploadFile):
        raw = await upload.read(MAX_CHARTER_BYTES + 1)
        return await run_in_threadpool(_from_file, request, me, raw)
    fields = {k: v[:forms.MAX_FIELD * 5] if isinstance(v := form.get(k, ""), str) else "" for k in TEXT_FIELDS}
    return await run_in_threadpool(_from_form, request, me, fields)


def _store(request: Request, me: auth.Viewer, charter: Charter) -> Response:
    from tasks.usecases.communities import create_community

    if charter.convenor is None or charter.convenor.email != me.email:
        raise forms.FieldProblem("charter", f"convenor: name yourself ({me.email}) as the convenor to "
                                 "create it here")
    with on_the_web() as db:
        slug = create_community(db, charter, date.today()).slug
    return page(request, "created.html", slug=slug, name=charter.name, missing=charter.missing_for_launch())


def _from_file(request: Request, me: auth.Viewer, raw: bytes) -> Response:
    try:
        if not raw:
            raise forms.FieldProblem("charter", "choose a charter file (YAML)")
        if len(raw) > MAX_CHARTER_BYTES:
            raise forms.FieldProblem("charter", f"larger than {MAX_CHARTER_BYTES // 1024} KiB; is it a charter?")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.FieldProblem("charter", f"not UTF-8 text (byte {exc.start})") from None
        return _store(request, me, parse_charter(text, "charter"))
    except CopflowError as exc:
        problem = exc.message if isinstance(exc, forms.FieldProblem) else str(exc).removeprefix("charter: ")
        return _new_page(request, 400 if exc.exit_code == 2 else 403, {"charter": problem})


def _people(text: str, field: str, limit: int, member: bool) -> list[dict[str, Any]]:
    """'Name, email[, organisation]' (sponsors) or 'Name, email[, kind][, planning group]' a line."""
    rows = [line for line in text.splitlines() if line.strip()]
    if len(rows) > limit:
        raise forms.FieldProblem(field, f"{len(rows)} lines given; at most {limit}")
    people = []
    for n, line in enumerate(rows, 1):
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise forms.FieldProblem(field, f"line {n}: give a name and an email address, separated by a comma")
        person: dict[str, Any] = {"name": parts[0], "email": parts[1]}
        for extra in parts[2:]:
            if member and extra.casefold() == "planning group":
                person["planning_group"] = True
            elif extra:
                person["kind" if member else "organisation"] = extra
        people.append(person)
    return people


def _charter_data(me: auth.Viewer, fields: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {k: fields[k].strip() for k in ("name", "slug", "domain", "practice", "cadence",
                                                          "sponsor_reports", "format", "location")
                            if fields[k].strip()}
    if fields["first_session"].strip():
        data["first_session"] = forms.moment(fields["first_session"], "first_session")
    data["convenor"] = {"name": me.name, "email": me.email}
    data["sponsors"] = _people(fields["sponsors"], "sponsors", MAX_SPONSORS, member=False)
    data["members"] = _people(fields["members"], "members", MAX_MEMBERS, member=True)
    return data


def _where(path: str, message: str) -> tuple[str, str]:
    """A charter field's error as the form shows it: 'members[1].email' -> members, line 2."""
    found = NAMED.match(f"{path}: ")
    if found is None or found.group(1) not in TEXT_FIELDS:
        return "", f"{path}: {message}" if path else message
    field, index, part = found.groups()
    where = f"line {int(index) + 1}: " if index is not None else ""
    return field, f"{where}{part + ': ' if part else ''}{message}"


def _from_form(request: Request, me: auth.Viewer, fields: dict[str, str]) -> Response:
    try:
        try:
            charter = Charter.model_validate(_charter_data(me, fields))
        except ValidationError as exc:
            first = exc.errors()[0]
            message = first["msg"].removeprefix("Value error, ")
            path = field_path(tuple(first["loc"]))
            if not path and (named := NAMED.match(message)):  # a rule across fields names its own
                path, message = message[:named.end() - 2], message[named.end():]
            raise forms.FieldProblem(*_where(path, "unknown key" if first["type"] == "extra_forbidden"
                                             else message)) from None
        return _store(request, me, charter)
    except CopflowError as exc:
        if isinstance(exc, BadInput) and not isinstance(exc, forms.FieldProblem) and (named := NAMED.match(str(exc))):
            exc = forms.FieldProblem(*_where(str(exc)[:named.end() - 2], str(exc)[named.end():]))
        problems = forms.problems_of(exc, {})
        return _new_page(request, 400 if exc.exit_code == 2 else 403, problems, fields)
