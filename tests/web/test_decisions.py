"""The convenor's decisions in the web app: each runs its Prefect flow (the session-wide harness)
on the real SQLite file, as the signed-in person, from the web; two presses at once, one wins."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from models.db.tables import AuditEntry, Community, Membership, OutboxMessage, Person
from tasks.storage.db import session_scope
from tests.support import lifecycle as cop
from tests.web import support
from tests.web.support import csrf, sign_in

DAY = cop.DAY0 + timedelta(days=40)  # after the sample CoP's first session
DRAWN = re.compile(r'name="drawn" value="(\d+)"')


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> date:
    """Decisions recorded on a day after the sample data's (it is set in 2027)."""
    monkeypatch.setattr("web.deciding.today", lambda: DAY)
    return DAY


@pytest.fixture
def web(home: Path, prefect_harness: None, replay: date) -> Iterator[TestClient]:
    with support.client() as c:
        yield c


def form(c: TestClient, slug: str, decision: str) -> dict[str, str]:
    """The confirmation form's hidden fields, as drawn now."""
    page = c.get(f"/cops/{slug}/decide/{decision}")
    assert page.status_code == 200, page.text[:300]
    found = DRAWN.search(page.text)
    assert found
    return {"csrf_token": csrf(page.text), "drawn": found.group(1)}


def outbox(after: int = 0) -> list[tuple[str, str]]:
    with session_scope() as db:
        return [(r.template, r.to_name) for r in db.execute(
            select(OutboxMessage.template, OutboxMessage.to_name).where(OutboxMessage.id > after)
            .order_by(OutboxMessage.id))]


def last_outbox_id() -> int:
    with session_scope() as db:
        return max(db.scalars(select(OutboxMessage.id)), default=0)


def web_audit(action: str) -> AuditEntry:
    with session_scope() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == action)
                           .order_by(AuditEntry.id.desc())).first()
    assert entry is not None, action
    return entry


def decided(c: TestClient, decision: str, **fields: str) -> Any:
    sign_in(c, cop.CONVENOR)
    listing = c.get("/cops/aaot/decide")
    assert f'href="/cops/aaot/decide/{decision}"' in listing.text
    before = last_outbox_id()
    answer = c.post(f"/cops/aaot/decide/{decision}", data={**form(c, "aaot", decision), **fields})
    assert answer.status_code == 200, answer.text[:800]
    # The page names everyone this decision emailed (and, for the convenor, their address).
    for template, name in outbox(before):
        if template != "web-sign-in":
            assert name in answer.text
    return answer


Setup = Callable[[], object]
CASES: dict[str, tuple[Setup, dict[str, str], str, set[str]]] = {
    "launch": (lambda: None, {}, "launching", {"member-invitation", "sponsor-launch-notice"}),
    "withdraw": (lambda: None, {"reason": "nobody could make the dates"}, "archived", set()),
    "rotate": (cop.active, {}, "active", {"handover-pack"}),
    "close": (cop.active, {"reason": "the work is done", "notice_days": "10"}, "closing", {"closing-notice"}),
    "continue": (cop.closing, {}, "active", {"continuing-notice"}),
    "archive": (cop.closing, {"now": "yes"}, "archived", {"final-sponsor-report"}),
}


@pytest.mark.parametrize("decision", list(CASES))
def test_a_decision_runs_its_flow_as_the_signed_in_convenor_from_the_web(web: TestClient, decision: str) -> None:
    setup, fields, stage, templates = CASES[decision]
    cop.create()
    setup()
    before = last_outbox_id()
    answer = decided(web, decision, **fields)
    assert cop.stage("aaot") == stage
    queued = {t for t, _ in outbox(before)} - {"web-sign-in"}
    assert templates <= queued, queued
    entry = web_audit("stage.changed") if decision != "rotate" else web_audit("lead.rotated")
    assert (entry.actor, entry.channel, entry.operator) == (cop.CONVENOR, "web", None)
    assert entry.flow_run_id and entry.flow_run_id in answer.text  # the run, on the page


def test_the_planning_group_sees_who_was_emailed_by_name_the_convenor_by_address_too(web: TestClient) -> None:
    cop.create()
    cop.active()
    sign_in(web, "sam@example.nhs.uk")  # on the planning group, not the convenor
    answer = web.post("/cops/aaot/decide/close", data={**form(web, "aaot", "close"), "reason": "done"})
    assert answer.status_code == 200, answer.text[:500]
    assert "Lee Hart" in answer.text and "lee@example.org" not in answer.text
    assert web_audit("stage.changed").actor == "sam@example.nhs.uk"
    with support.client() as convenor:
        sign_in(convenor, cop.CONVENOR)
        done = convenor.post("/cops/aaot/decide/continue", data=form(convenor, "aaot", "continue"))
    assert "Lee Hart (lee@example.org)" in done.text


def test_close_keeps_its_reason_and_successor_and_the_flow_never_holds_the_reason(web: TestClient) -> None:
    cop.create(cop_charter("wound-care", "Kim Wells", "kim@example.nhs.uk"))
    cop.create()
    cop.active()
    answer = decided(web, "close", reason="merged into wound care", notice_days="7", successor="wound-care")
    assert "Closing" in answer.text
    with session_scope() as db:
        c = db.scalar(select(Community).where(Community.slug == "aaot"))
        assert c is not None and c.notice_ends_on == DAY + timedelta(days=7)
    entry = web_audit("stage.changed")
    assert entry.why and "merged into wound care" in entry.why
    assert entry.after and entry.after.get("successor") == "wound-care"


def test_hand_over_passes_the_convenor_role_from_the_web(web: TestClient) -> None:
    cop.create()
    cop.active()
    with session_scope() as db:
        sam = db.scalar(select(Person.id).where(Person.email == "sam@example.nhs.uk"))
    answer = decided(web, "hand-over", to=str(sam))
    drawn_before = DRAWN.search(web.get("/cops/aaot/decide/rotate").text)
    assert "Sam Okafor" in answer.text
    with session_scope() as db:
        now = db.scalar(select(Person.email).join(Membership).where(Membership.is_convenor))
    assert now == "sam@example.nhs.uk"
    entry = web_audit("convenor.handed-over")
    assert (entry.actor, entry.channel) == (cop.CONVENOR, "web")
    assert drawn_before is not None

def test_the_list_shows_only_the_decisions_open_now(web: TestClient) -> None:
    cop.create()
    cop.active()
    sign_in(web, cop.CONVENOR)
    page = web.get("/cops/aaot/decide").text
    links = set(re.findall(r'href="/cops/aaot/decide/([a-z-]+)"', page))
    assert links == {"rotate", "close", "hand-over"}
    closed = web.get("/cops/aaot/decide/continue")
    assert closed.status_code == 409 and "not open now" in closed.text


def test_a_refusal_is_the_command_lines_line_and_changes_nothing(web: TestClient) -> None:
    cop.create()
    cop.launched()
    sign_in(web, cop.CONVENOR)
    fields = form(web, "aaot", "withdraw")
    with support.unchanged():
        answer = web.post("/cops/aaot/decide/withdraw", data={**fields, "reason": "   "})
    assert answer.status_code == 400
    assert "--reason: say why" in answer.text or "say why" in answer.text


def test_two_presses_of_the_same_button_at_once_one_wins(web: TestClient) -> None:
    """Two signed-in deciders, the same rotation drawn at the same version, sent together."""
    cop.create()
    cop.active()
    sign_in(web, cop.CONVENOR)
    with support.client() as other:
        sign_in(other, "sam@example.nhs.uk")
        first, second = form(web, "aaot", "rotate"), form(other, "aaot", "rotate")
        assert first["drawn"] == second["drawn"]
        answers: list[Any] = []
        start = threading.Barrier(2)

        def press(c: TestClient, fields: dict[str, str]) -> None:
            start.wait()
            answers.append(c.post("/cops/aaot/decide/rotate", data=fields))

        threads = [threading.Thread(target=press, args=(c, f)) for c, f in ((web, first), (other, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 403], [a.text[:300] for a in answers]
    lost = next(a for a in answers if a.status_code == 403)
    assert "has changed since this form was drawn" in lost.text
    with session_scope() as db:
        rotations = db.scalars(select(AuditEntry).where(AuditEntry.action == "lead.rotated")).all()
    assert len(rotations) == 1


def cop_charter(slug: str, name: str, email: str) -> str:
    return f"""
name: Another Community of Practice
slug: {slug}
domain: Another domain
practice: Cases
cadence: monthly
first_session: 2027-02-01T10:00
convenor: {{name: {name}, email: {email}}}
members:
  - {{name: Ray Moss, email: ray@example.nhs.uk, kind: practitioner}}
  - {{name: Tam Lowe, email: tam@example.org, kind: researcher}}
  - {{name: Una Park, email: una@example.org, kind: practitioner}}
"""
