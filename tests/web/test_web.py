"""The web app on its real routes (FastAPI's test client), over a real SQLite (or PostgreSQL) home:
sign in from the outbox link, act for oneself, and see the same use cases' records."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from models.db.tables import AuditEntry, Membership, OutboxMessage, Person
from tasks.storage.db import session_scope
from tests.support import lifecycle as cop
from tests.web import support
from tests.web.support import csrf, sign_in

MEMBER = "lee@example.org"


def _membership(email: str) -> Membership:
    with session_scope() as db:
        return db.scalars(select(Membership).join(Person).where(Person.email == email)).one()


def _last_audit() -> AuditEntry:
    with session_scope() as db:
        return db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()  # type: ignore[return-value]


def test_healthz_answers_when_the_database_is_reachable(web) -> None:
    answer = web.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_the_start_page_asks_for_an_address_and_says_where_the_link_went(web, launched_home: Path) -> None:
    start = web.get("/")
    assert "Sign in to copflow" in start.text and 'type="email"' in start.text
    answer = support.ask_link(web, MEMBER)
    assert "Check your email" in answer.text
    assert str((launched_home / "outbox").resolve()) in answer.text  # the embedded defaults: look here
    assert len(support.outbox_links(MEMBER)) == 1


def test_an_unknown_address_gets_the_same_answer_and_no_email(web) -> None:
    known = support.ask_link(web, MEMBER).text.replace(MEMBER, "ADDRESS")
    unknown = support.ask_link(web, "nobody@example.com").text.replace("nobody@example.com", "ADDRESS")
    strip = re.compile(r'value="[^"]+"')
    assert strip.sub("", known) == strip.sub("", unknown)
    assert support.outbox_links("nobody@example.com") == []


def test_the_sign_in_email_is_delivered_through_the_configured_transport(web, launched_home: Path) -> None:
    support.ask_link(web, MEMBER)
    files = list((launched_home / "outbox").glob("*.eml"))
    assert len(files) == 1 and "/sign-in/" in files[0].read_text()


def test_signing_in_from_the_link_shows_the_members_communities(web) -> None:
    sign_in(web, MEMBER)
    home = web.get("/")
    assert "Your communities" in home.text and "Signed in as Lee Hart" in home.text
    assert "Alcohol Assertive Outreach" in home.text and "14 January 2027" in home.text


def test_opening_a_sign_in_link_changes_nothing_until_the_button(web) -> None:
    support.ask_link(web, MEMBER)
    link = support.outbox_links(MEMBER)[-1]
    with support.unchanged():
        for _ in range(3):  # a mail scanner opening it, more than once
            assert "Sign in" in web.get(link).text
    assert web.post(link, data={"csrf_token": csrf(web.get(link).text)}).status_code == 303


def test_the_session_cookie_is_httponly_and_samesite_lax(web) -> None:
    support.ask_link(web, MEMBER)
    link = support.outbox_links(MEMBER)[-1]
    answer = web.post(link, data={"csrf_token": csrf(web.get(link).text)})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


def test_the_cookie_is_secure_when_served_over_https(launched_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPFLOW_WEB_URL", "https://copflow.example.nhs.uk")
    with support.client() as c:
        answer = c.get("/sign-in")
    assert "; secure" in answer.headers["set-cookie"].lower()


@pytest.mark.parametrize(("action", "field", "value", "audited"), [
    ("volunteer", "volunteered", True, "member.volunteered"),
    ("opt-out", "opted_out", True, "member.opted-out"),
    ("stop-emails", "emails_stopped", True, "member.emails-stopped"),
])
def test_a_member_acts_for_themselves_audited_as_themselves_on_the_web(web, action, field, value, audited) -> None:
    sign_in(web, MEMBER)
    page = web.get("/cops/aaot")
    answer = web.post(f"/cops/aaot/{action}", data={"csrf_token": csrf(page.text)})
    assert answer.status_code == 303
    assert getattr(_membership(MEMBER), field) is value
    entry = _last_audit()
    assert (entry.actor, entry.action, entry.channel) == (MEMBER, audited, "web")


def test_leaving_asks_first_then_leaves(web) -> None:
    sign_in(web, MEMBER)
    with support.unchanged():
        confirm = web.get("/cops/aaot/leave")
    assert "Leave this community" in confirm.text and "Nothing changes until you press the button" in confirm.text
    done = web.post("/cops/aaot/leave", data={"csrf_token": csrf(confirm.text)})
    assert "You have left" in done.text
    assert _membership(MEMBER).left_on == date.today()
    assert (_last_audit().action, _last_audit().channel) == ("member.left", "web")
    assert web.get("/cops/aaot").status_code == 404  # no longer theirs


def test_the_convenor_cannot_leave_and_is_told_why(web) -> None:
    sign_in(web, cop.CONVENOR)
    page = web.get("/cops/aaot")
    assert "Leave" not in page.text
    with support.unchanged():
        refused = web.post("/cops/aaot/leave", data={"csrf_token": csrf(page.text)})
    assert refused.status_code in (400, 403) and "Nothing has been changed" in refused.text


def test_changing_address_moves_the_person_and_is_audited(web) -> None:
    sign_in(web, MEMBER)
    form = web.get("/address")
    done = web.post("/address", data={"csrf_token": csrf(form.text), "email": "Lee.Hart@Example.org"})
    assert "Your email address has been changed" in done.text
    with session_scope() as db:
        assert db.scalar(select(Person.email).where(Person.name == "Lee Hart")) == "lee.hart@example.org"
    entry = _last_audit()
    assert (entry.action, entry.actor, entry.channel) == ("member.address-changed", MEMBER, "web")
    assert "Signed in as Lee Hart" in web.get("/").text  # the session follows the person, not the address


def test_an_address_someone_else_has_is_refused(web) -> None:
    sign_in(web, MEMBER)
    form = web.get("/address")
    with support.unchanged():
        answer = web.post("/address", data={"csrf_token": csrf(form.text), "email": "sam@example.nhs.uk"})
    assert answer.status_code == 400 and "belongs to someone else" in answer.text


def test_signing_out_ends_the_session(web) -> None:
    sign_in(web, MEMBER)
    page = web.get("/")
    out = web.post("/sign-out", data={"csrf_token": csrf(page.text)})
    assert "You have signed out" in out.text
    assert web.get("/cops/aaot").status_code == 303  # back to sign in


def test_stopped_emails_leave_out_the_non_essential_ones(web) -> None:
    from tasks.usecases.close import close

    sign_in(web, MEMBER)
    web.post("/cops/aaot/stop-emails", data={"csrf_token": csrf(web.get("/cops/aaot").text)})
    cop.hold_session("aaot", date(2027, 1, 14))
    with session_scope() as db:
        close(db, "aaot", actor=cop.CONVENOR, reason="our work is done", successor=None, notice_days=14,
              today=date(2027, 2, 1), flow_run_id=None)
    from tasks.usecases.close import continue_community
    with session_scope() as db:
        continue_community(db, "aaot", actor=cop.CONVENOR, today=date(2027, 2, 3), flow_run_id=None)
    with session_scope() as db:
        sent = set(db.scalars(select(OutboxMessage.template).where(OutboxMessage.to_email == MEMBER)))
    assert "closing-notice" in sent  # essential: everyone is owed notice
    assert "continuing-notice" not in sent  # not essential: they asked for no more


def _invitation_links(email: str, template: str = "member-invitation") -> dict[str, str]:
    with session_scope() as db:
        body = db.scalar(select(OutboxMessage.text_body).where(
            OutboxMessage.to_email == email, OutboxMessage.template == template))
    assert body is not None
    found = re.findall(r"https?://[^/\s]+(/act/[A-Za-z0-9_.\-]+)", body)
    words = {"Offer to lead": "volunteer", "Ask not to be asked": "opt-out", "Stop emails": "stop-emails",
             "Leave": "leave"}
    lines = [line for line in body.splitlines() if "/act/" in line]
    return {next(v for k, v in words.items() if k in line): path for line, path in zip(lines, found, strict=True)}


def test_a_members_invitation_carries_their_own_action_links(launched_home: Path) -> None:
    from tasks.usecases.close import close

    assert set(_invitation_links(MEMBER)) == {"volunteer", "opt-out", "stop-emails", "leave"}
    with session_scope() as db:  # the convenor runs the CoP: they are not invited to it
        assert db.scalar(select(OutboxMessage.id).where(
            OutboxMessage.to_email == cop.CONVENOR, OutboxMessage.template == "member-invitation")) is None
    cop.hold_session("aaot", date(2027, 1, 14))
    with session_scope() as db:
        close(db, "aaot", actor=cop.CONVENOR, reason="our work is done", successor=None, notice_days=14,
              today=date(2027, 2, 1), flow_run_id=None)
    # The emails a convenor is sent about their CoP: a convenor neither leaves nor rotates.
    assert set(_invitation_links(cop.CONVENOR, "closing-notice")) == {"stop-emails"}
    assert set(_invitation_links(MEMBER, "closing-notice")) == {"volunteer", "opt-out", "stop-emails", "leave"}


def test_sponsor_emails_carry_no_action_link(launched_home: Path) -> None:
    with session_scope() as db:
        bodies = db.execute(select(OutboxMessage.text_body, OutboxMessage.html_body)
                            .where(OutboxMessage.to_email == cop.SPONSOR)).all()
    assert bodies and not any("/act/" in t or "/act/" in h or "/sign-in" in t for t, h in bodies)


def test_an_email_link_shows_one_button_and_acts_only_when_pressed(web) -> None:
    link = _invitation_links(MEMBER)["volunteer"]
    with support.unchanged():
        page = web.get(link)
        web.get(link)
    assert page.status_code == 200 and page.text.count("<button") == 1 + 0  # not signed in: no sign-out button
    done = web.post(link, data={"csrf_token": csrf(page.text)})
    assert "offered to lead planning" in done.text
    assert _membership(MEMBER).volunteered
    entry = _last_audit()
    assert (entry.actor, entry.action, entry.channel) == (MEMBER, "member.volunteered", "web")


def test_a_sponsor_sees_the_reports_they_were_sent_and_nothing_to_act_on(web) -> None:
    from tasks.email.delivery import deliver_pending
    from tasks.storage.queries import get_community
    from tasks.usecases.sponsor_reports import queue_due_reports

    cop.hold_session("aaot", date(2027, 1, 14))
    with session_scope() as db:
        queue_due_reports(db, get_community(db, "aaot"), today=date(2027, 4, 2), flow_run_id=None)
    deliver_pending()
    sign_in(web, cop.SPONSOR)
    listing = web.get("/reports")
    assert listing.status_code == 200 and "Reports you were sent" in listing.text
    first = re.search(r'href="(/reports/\d+)"', listing.text)
    assert first, listing.text
    report = web.get(first.group(1))
    assert "Alcohol Assertive Outreach" in report.text
    assert "<form" not in report.text.split("<main", 1)[1]  # nothing to act on
    assert web.get("/cops/aaot").status_code == 404  # a sponsor is not a member
