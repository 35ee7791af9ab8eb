"""Helpers for the web app's tests: a client on the app, signing in from the outbox link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from models.db.tables import AuditEntry, Community, Membership, OutboxMessage, Person, WebSession, WebToken
from tasks.storage.db import session_scope

LINK = re.compile(r"https?://[^\s\"<>]+/sign-in/[A-Za-z0-9_\-]+")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def client() -> TestClient:
    from web.app import create_app

    return TestClient(create_app(), follow_redirects=False)


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def outbox_links(address: str) -> list[str]:
    """Sign-in links queued for this address, newest last (the path only)."""
    with session_scope() as db:
        bodies = db.scalars(select(OutboxMessage.text_body).where(
            OutboxMessage.to_email == address, OutboxMessage.template == "web-sign-in")
            .order_by(OutboxMessage.id))
        return [re.sub(r"^https?://[^/]+", "", m.group(0)) for body in bodies for m in LINK.finditer(body)]


def ask_link(c: TestClient, address: str, **extra: str) -> Any:
    form = c.get("/sign-in")
    return c.post("/sign-in", data={"email": address, "csrf_token": csrf(form.text), **extra})


def sign_in(c: TestClient, address: str) -> None:
    assert ask_link(c, address).status_code == 200
    path = outbox_links(address)[-1]
    page = c.get(path)
    done = c.post(path, data={"csrf_token": csrf(page.text)})
    assert done.status_code == 303, done.text


def snapshot() -> dict[str, Any]:
    """What an action could change: memberships, people, audit, sessions, links, outbox."""
    with session_scope() as db:
        return {
            "memberships": sorted(db.execute(select(
                Membership.id, Membership.volunteered, Membership.opted_out, Membership.planning_group,
                Membership.emails_stopped, Membership.left_on)).all()),
            "people": sorted(db.execute(select(Person.id, Person.email)).all()),
            "audit": db.scalar(select(func.count()).select_from(AuditEntry)),
            "sessions": db.scalar(select(func.count()).select_from(WebSession).where(WebSession.ended_at.is_(None))),
            "outbox": db.scalar(select(func.count()).select_from(OutboxMessage)),
            "sign-in links": db.scalar(select(func.count()).select_from(WebToken)),
            "stages": sorted(db.execute(select(Community.slug, Community.stage)).all()),
            "used links": db.scalar(select(func.count()).select_from(WebToken).where(WebToken.used_at.is_not(None)
                                                                                     | (WebToken.purpose == "action"))),
            **records(db),
        }


def records(db: Any) -> dict[str, Any]:
    """What a convenor's record could change: sessions, attendance, stories, plans, tasks, CoPs."""
    from models.db.tables import Attendance, CopSession, PlannedSession, PlanningTask, Story

    return {
        "cop sessions": db.scalar(select(func.count()).select_from(CopSession)),
        "attendance": db.scalar(select(func.count()).select_from(Attendance)),
        "stories": db.scalar(select(func.count()).select_from(Story)),
        "planned": sorted(db.execute(select(PlannedSession.id, PlannedSession.starts_at)).all()),
        "tasks": sorted(db.execute(select(PlanningTask.id, PlanningTask.owner_id, PlanningTask.status)).all()),
        "communities": db.scalar(select(func.count()).select_from(Community)),
        "memberships joined": sorted(db.execute(select(Membership.id, Membership.joined_on)).all()),
    }


@contextmanager
def unchanged() -> Iterator[None]:
    before = snapshot()
    yield
    assert snapshot() == before
