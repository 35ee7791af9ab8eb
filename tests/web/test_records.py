"""The convenor's and planning group's records in the web app, on the real routes over a real
SQLite (or PostgreSQL) home: record a session, plan the next, tasks, members, create a CoP. Each
goes through the CLI's use cases and flows, as the signed-in person, on the web channel."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from models.db.tables import (
    Attendance,
    AuditEntry,
    Community,
    CopSession,
    Membership,
    OutboxMessage,
    Person,
    PlanningTask,
    Story,
)
from tasks.storage.db import session_scope
from tests.support import lifecycle as cop
from tests.web import support
from tests.web.support import csrf, sign_in

CONVENOR, PLANNER, MEMBER = cop.CONVENOR, "sam@example.nhs.uk", cop.MEMBER
TODAY = date.today()


def backdate(slug: str = "aaot", days: int = 60) -> None:
    """The CoP was created some weeks ago (the sample's dates are in 2027; the web records today)."""
    with session_scope() as db:
        db.execute(update(Community).where(Community.slug == slug).values(created_on=TODAY - timedelta(days=days)))


@pytest.fixture
def convenor(web: TestClient) -> TestClient:
    backdate()
    sign_in(web, CONVENOR)
    return web


def person_id(email: str) -> int:
    with session_scope() as db:
        return int(db.scalar(select(Person.id).where(Person.email == email)))  # type: ignore[arg-type]


def form_token(c: TestClient, path: str) -> str:
    answer = c.get(path)
    assert answer.status_code == 200, answer.text[:300]
    return csrf(answer.text)


def last_audit() -> AuditEntry:
    with session_scope() as db:
        return db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()  # type: ignore[return-value]


def session_form(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"held_on": str(TODAY - timedelta(days=1)),
                            "attended": [person_id(CONVENOR), person_id(MEMBER)], "guests": "2",
                            "topics": "A hard case\nDischarge planning", "methods": "Time to Think",
                            "outputs": "A one-page guide", "stories": ["Lee changed how the team follows up.", ""],
                            "consent": "anonymous", "teller": str(person_id(MEMBER))}
    return {**data, **over}


def test_recording_the_first_session_runs_the_flow_and_makes_the_cop_active(convenor: TestClient,
                                                                           prefect_harness: None) -> None:
    page = convenor.get("/cops/aaot/sessions/new")
    assert page.status_code == 200 and "Lee Hart" in page.text and 'type="checkbox"' in page.text
    answer = convenor.post("/cops/aaot/sessions/new", data={"csrf_token": csrf(page.text), **session_form()})
    assert answer.status_code == 200, answer.text[:500]
    assert "Session recorded" in answer.text and "4 attended" in answer.text and "Meeting" in answer.text
    teller = person_id(MEMBER)
    with session_scope() as db:
        held = db.scalars(select(CopSession)).one()
        assert held.held_on == TODAY - timedelta(days=1) and held.guests == 2
        assert held.topics == ["A hard case", "Discharge planning"] and held.methods == ["Time to Think"]
        assert db.scalar(select(func.count()).select_from(Attendance)) == 2
        story = db.scalars(select(Story)).one()
        assert story.consent == "anonymous" and story.teller_id == teller
        assert db.scalar(select(Community.stage)) == "active"
        entries = db.scalars(select(AuditEntry).where(AuditEntry.flow_run_id.is_not(None))).all()
    assert {e.action for e in entries} == {"session.recorded", "stage.changed"} and all(e.actor == CONVENOR and e.channel == "web" and e.flow_run_id for e in entries)
    assert all(e.operator is None for e in entries)  # the person acted; nobody typed it for them


def test_a_routine_session_is_recorded_by_the_use_case_as_the_cli_does(convenor: TestClient) -> None:
    with session_scope() as db:
        db.execute(update(Community).values(stage="active"))
    token = form_token(convenor, "/cops/aaot/sessions/new")
    answer = convenor.post("/cops/aaot/sessions/new", data={"csrf_token": token, **session_form(guests="0")})
    assert answer.status_code == 200 and "2 attended" in answer.text and "Nobody" in answer.text
    entry = last_audit()
    assert (entry.action, entry.actor, entry.channel, entry.flow_run_id) == (
        "session.recorded", CONVENOR, "web", None)


def test_bad_session_input_names_the_field_and_keeps_the_form(convenor: TestClient) -> None:
    token = form_token(convenor, "/cops/aaot/sessions/new")
    with support.unchanged():
        answer = convenor.post("/cops/aaot/sessions/new", data={"csrf_token": token,
                                                                **session_form(attended=[], topics="Kept topic")})
    assert answer.status_code == 400
    assert 'id="attended-error"' in answer.text and "name at least one person who attended" in answer.text
    assert 'href="#attended"' in answer.text and "Kept topic" in answer.text
    with support.unchanged():
        future = convenor.post("/cops/aaot/sessions/new", data={
            "csrf_token": token, **session_form(held_on=str(TODAY + timedelta(days=3)))})
    assert future.status_code == 400 and 'id="held_on-error"' in future.text and "record it once" in future.text


def test_planning_the_next_session_sends_every_member_an_invitation(convenor: TestClient,
                                                                    prefect_harness: None) -> None:
    with session_scope() as db:
        db.execute(update(Community).values(stage="active"))
        before = db.scalar(select(func.count()).select_from(OutboxMessage))
    token = form_token(convenor, "/cops/aaot/sessions/plan")
    starts = (TODAY + timedelta(days=14)).isoformat() + "T14:00"
    answer = convenor.post("/cops/aaot/sessions/plan", data={"csrf_token": token, "starts_at": starts,
                                                             "agenda": "Welcome\nA case"})
    assert answer.status_code == 200, answer.text[:500]
    assert "Next session planned" in answer.text and "4 calendar invites queued" in answer.text
    assert re.search(r"Lee Hart: (sent|queued)", answer.text)  # by this run, or left for the worker
    with session_scope() as db:
        invites = db.scalars(select(OutboxMessage).where(OutboxMessage.calendar.is_not(None))).all()
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) > (before or 0)
    assert {m.to_email for m in invites} >= set(cop.EVERYONE) - {CONVENOR}
    entry = last_audit()
    assert (entry.action, entry.actor, entry.channel) == ("session.planned", CONVENOR, "web")


def test_planning_a_session_in_the_past_names_the_field(convenor: TestClient) -> None:
    token = form_token(convenor, "/cops/aaot/sessions/plan")
    with support.unchanged():
        answer = convenor.post("/cops/aaot/sessions/plan", data={"csrf_token": token,
                                                                 "starts_at": f"{TODAY}T09:00", "agenda": ""})
    assert answer.status_code == 400 and 'id="starts_at-error"' in answer.text and "still to come" in answer.text


def test_tasks_are_added_reassigned_and_completed_as_the_planning_group(web: TestClient) -> None:
    backdate()
    sign_in(web, PLANNER)
    token = form_token(web, "/cops/aaot/tasks")
    added = web.post("/cops/aaot/tasks/add", data={"csrf_token": token, "title": "Book the room",
                                                   "due": str(TODAY + timedelta(days=7)), "notes": ""})
    assert added.status_code == 303 and added.headers["location"] == "/cops/aaot/tasks?done=added"
    with session_scope() as db:
        task = db.scalars(select(PlanningTask)).one()
    assert "Book the room" in web.get("/cops/aaot/tasks").text
    moved = web.post(f"/cops/aaot/tasks/{task.id}/reassign", data={"csrf_token": token,
                                                                   "to": str(person_id(MEMBER))})
    assert moved.status_code == 303
    with session_scope() as db:
        owner = db.scalar(select(Person.email).join(Membership, Membership.person_id == Person.id)
                          .join(PlanningTask, PlanningTask.owner_id == Membership.id))
    assert owner == MEMBER and (last_audit().action, last_audit().channel) == ("task.reassigned", "web")
    done = web.post(f"/cops/aaot/tasks/{task.id}/complete", data={"csrf_token": token})
    assert done.status_code == 303
    with session_scope() as db:
        assert db.scalar(select(PlanningTask.status)) == "done"
    entry = last_audit()
    assert (entry.action, entry.actor, entry.channel) == ("task.done", PLANNER, "web")
    with support.unchanged():
        again = web.post(f"/cops/aaot/tasks/{task.id}/complete", data={"csrf_token": token})
    assert again.status_code == 403 and f"task {task.id} is already done" in again.text


def test_a_task_without_a_title_names_the_field(convenor: TestClient) -> None:
    token = form_token(convenor, "/cops/aaot/tasks")
    with support.unchanged():
        answer = convenor.post("/cops/aaot/tasks/add", data={"csrf_token": token, "title": " ", "due": "soon",
                                                             "notes": "kept"})
    assert answer.status_code == 400 and 'id="title-error"' in answer.text and "kept" in answer.text


def test_members_are_added_and_their_leaving_recorded(convenor: TestClient) -> None:
    token = form_token(convenor, "/cops/aaot/members")
    added = convenor.post("/cops/aaot/members/add", data={"csrf_token": token, "name": "Kit Ward",
                                                          "email": "kit@example.org", "kind": "researcher"})
    assert added.status_code == 303
    assert "Kit Ward" in convenor.get("/cops/aaot/members").text
    entry = last_audit()
    assert (entry.action, entry.actor, entry.channel) == ("member.added", CONVENOR, "web")
    left = convenor.post(f"/cops/aaot/members/{person_id('kit@example.org')}/remove", data={"csrf_token": token})
    assert left.status_code == 303
    with session_scope() as db:
        assert db.scalar(select(Membership.left_on).join(Person).where(Person.email == "kit@example.org")) == TODAY
    assert (last_audit().action, last_audit().channel) == ("member.left", "web")
    with support.unchanged():
        twice = convenor.post("/cops/aaot/members/add", data={"csrf_token": token, "name": "Lee Hart",
                                                              "email": MEMBER, "kind": "practitioner"})
    assert twice.status_code == 400 and 'id="email-error"' in twice.text and "already a member" in twice.text


def test_the_planning_lead_leaving_runs_the_step_down_flow(convenor: TestClient, prefect_harness: None) -> None:
    from tasks.usecases.step_down import leading_member

    lead = next(e for e in cop.EVERYONE if cop.in_db(leading_member, "aaot", e) is not None)
    token = form_token(convenor, "/cops/aaot/members")
    answer = convenor.post(f"/cops/aaot/members/{person_id(lead)}/remove", data={"csrf_token": token})
    assert answer.status_code == 200, answer.text[:500]
    assert "Leaving recorded" in answer.text and "Who was emailed" in answer.text
    assert cop.in_db(leading_member, "aaot", lead) is None
    with session_scope() as db:
        channels = set(db.scalars(select(AuditEntry.channel).where(AuditEntry.action == "member.left")))
    assert channels == {"web"}


CHARTER = """
name: Wound Care Community of Practice
slug: wound-care
domain: Wound care in the community
practice: Cases
cadence: monthly
convenor: {name: Dana Whitlow, email: dana@example.nhs.uk}
sponsors:
  - {name: Ola Sponsor, email: ola@example.nhs.uk}
members:
  - {name: Ray Moss, email: ray@example.nhs.uk, kind: practitioner}
"""


def test_a_convenor_creates_a_cop_from_an_uploaded_charter(convenor: TestClient) -> None:
    token = form_token(convenor, "/new")
    answer = convenor.post("/new", data={"csrf_token": token},
                           files={"charter": ("wound.yaml", CHARTER.encode(), "application/yaml")})
    assert answer.status_code == 200, answer.text[:500]
    assert "Community created" in answer.text and "at least 3 members" in answer.text
    with session_scope() as db:
        assert db.scalar(select(Community.stage).where(Community.slug == "wound-care")) == "proposed"
    entry = last_audit()
    assert (entry.action, entry.actor, entry.channel) == ("community.created", CONVENOR, "web")


def test_a_charter_naming_someone_else_as_convenor_is_refused(convenor: TestClient) -> None:
    token = form_token(convenor, "/new")
    theirs = CHARTER.replace("Dana Whitlow, email: dana@example.nhs.uk", "Kim Wells, email: kim@example.nhs.uk")
    with support.unchanged():
        answer = convenor.post("/new", data={"csrf_token": token},
                               files={"charter": ("wound.yaml", theirs.encode(), "application/yaml")})
    assert answer.status_code == 400 and 'id="charter-error"' in answer.text and "as the convenor" in answer.text


def test_a_charter_error_names_the_charter_field(convenor: TestClient) -> None:
    token = form_token(convenor, "/new")
    bad = CHARTER.replace("ray@example.nhs.uk", "not-an-address")
    with support.unchanged():
        answer = convenor.post("/new", data={"csrf_token": token},
                               files={"charter": ("wound.yaml", bad.encode(), "application/yaml")})
    assert answer.status_code == 400 and "members[0].email" in answer.text


def test_an_oversized_upload_is_refused_unread(convenor: TestClient) -> None:
    token = form_token(convenor, "/new")
    with support.unchanged():
        answer = convenor.post("/new", data={"csrf_token": token},
                               files={"charter": ("big.yaml", b"#" * (400 * 1024), "application/yaml")})
    assert answer.status_code == 413 and "too large" in answer.text


def test_a_convenor_creates_a_cop_from_the_form(convenor: TestClient) -> None:
    token = form_token(convenor, "/new")
    answer = convenor.post("/new", data={
        "csrf_token": token, "name": "Falls Prevention", "slug": "", "domain": "Falls at home",
        "practice": "Cases", "cadence": "monthly", "sponsor_reports": "quarterly", "first_session": "",
        "format": "online", "location": "", "sponsors": "Ola Sponsor, ola@example.nhs.uk, Example Trust",
        "members": "Ray Moss, ray@example.nhs.uk\nTam Lowe, tam@example.org, researcher, planning group"})
    assert answer.status_code == 200, answer.text[:500]
    with session_scope() as db:
        cop_id = db.scalar(select(Community.id).where(Community.slug == "falls-prevention"))
        planners = db.scalars(select(Person.email).join(Membership).where(
            Membership.community_id == cop_id, Membership.planning_group.is_(True))).all()
    assert set(planners) == {CONVENOR, "tam@example.org"}


def test_a_form_charter_error_is_shown_beside_its_field(convenor: TestClient) -> None:
    token = form_token(convenor, "/new")
    with support.unchanged():
        answer = convenor.post("/new", data={
            "csrf_token": token, "name": "Falls Prevention", "slug": "", "domain": "", "practice": "",
            "cadence": "monthly", "sponsor_reports": "quarterly", "first_session": "", "format": "online",
            "location": "", "sponsors": "", "members": "Ray Moss, ray@example.nhs.uk\nTam Lowe, not-an-address"})
    assert answer.status_code == 400 and 'id="members-error"' in answer.text and "line 2: email" in answer.text
    assert "Ray Moss, ray@example.nhs.uk" in answer.text  # the form, filled in again


def test_a_plain_member_does_not_see_the_record_pages(web: TestClient) -> None:
    sign_in(web, MEMBER)
    for path in ("/cops/aaot/sessions/new", "/cops/aaot/sessions/plan", "/cops/aaot/tasks", "/cops/aaot/members"):
        assert web.get(path).status_code == 404


def test_record_pages_ask_to_sign_in(web: TestClient, launched_home: Path) -> None:
    for path in ("/cops/aaot/sessions/new", "/cops/aaot/tasks", "/new"):
        answer = web.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in")
