"""Sponsors see the reports they were sent, read-only: nothing on these pages acts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tasks.storage.db import read_scope
from web.member import to_sign_in
from web.pages import page
from web.reads import reports_sent_to
from web.signin import signed_in

router = APIRouter()


@router.get("/reports")
def reports(request: Request) -> Response:
    me = signed_in(request)
    if me is None:
        return to_sign_in(request)
    with read_scope() as db:
        sent = reports_sent_to(db, me.email)
    return page(request, "reports.html", reports=sent)


@router.get("/reports/{report_id}")
def report(request: Request, report_id: int) -> Response:
    me = signed_in(request)
    if me is None:
        return to_sign_in(request)
    with read_scope() as db:
        found = reports_sent_to(db, me.email, report_id)
    if not found:
        return page(request, "error.html", 404, title_key="not-found")
    return page(request, "report.html", report=found[0])
