"""Drill 7: the web app under attack. Each case tries something the web app must refuse (forged or
missing CSRF tokens, replayed, expired, tampered or someone else's links, a member acting on a CoP
they are not in, a sponsor acting, old or tampered cookies, open redirects, HTML in names, the
rate limits) and checks it was refused with nothing changed: memberships, people, audit, sessions,
links and outbox exactly as before."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from models.db.tables import Community, OutboxMessage, Person, WebSession, WebToken
from tasks.storage.db import session_scope
from tests.drills.tally import DRILLS
from tests.support import lifecycle as cop
from tests.web import support
from tests.web.support import csrf, sign_in

MEMBER, OTHER_MEMBER = "lee@example.org", "sam@example.nhs.uk"
OTHER_CHARTER = """
name: Wound Care Community of Practice
slug: wound-care
domain: Wound care in the community
practice: Cases
cadence: monthly
first_session: 2027-02-01T10:00
convenor: {name: Kim Wells, email: kim@example.nhs.uk}
sponsors:
  - {name: Ola Sponsor, email: ola@example.nhs.uk}
members:
  - {name: Ray Moss, email: ray@example.nhs.uk, kind: practitioner}
  - {name: Tam Lowe, email: tam@example.org, kind: researcher}
  - {name: Una Park, email: una@example.org, kind: practitioner}
"""
CASES: dict[str, Callable[[TestClient], Found]] = {}


def case(name: str) -> Callable[[Callable[[TestClient], Found]], Callable[[TestClient], Found]]:
    def register(fn: Callable[[TestClient], Found]) -> Callable[[TestClient], Found]:
        CASES[name] = fn
        return fn
    return register


class Found(list[str]):
    """What one case found wrong. Every check is made and every failure kept, so one failure
    does not hide the next; the test lists them all in one assertion."""

    def check(self, ok: bool, what: str) -> bool:
        if not ok:
            self.append(what)
        return ok

    def refused(self, answer: Any, *codes: int) -> None:
        allowed = codes or (400, 403, 404, 410, 429)
        self.check(answer.status_code in allowed,
                   f"{answer.request.method} {answer.request.url.path}: {answer.status_code}, "
                   f"not one of {allowed}: {answer.text[:300]!r}")

    def to_sign_in(self, answer: Any) -> None:
        self.check(answer.status_code == 303 and answer.headers.get("location", "").startswith("/sign-in"),
                   f"{answer.request.url.path}: {answer.status_code}, not sent to sign in")

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        """Nothing in the database changed (people, memberships, audit, sessions, links, outbox)."""
        before = support.snapshot()
        yield
        after = support.snapshot()
        self.check(after == before, f"changed: {', '.join(k for k in before if after[k] != before[k])}")


def signed(c: TestClient, who: str = MEMBER) -> str:
    """Sign in; the CSRF token of the member's CoP page."""
    sign_in(c, who)
    return csrf(c.get("/").text)


def link_for(email: str, action: str, slug: str = "aaot") -> str:
    from tasks.web_links import ActionLink, action_token

    with session_scope() as db:
        person = db.scalar(select(Person.id).where(Person.email == email))
        community = db.scalar(select(Community.id).where(Community.slug == slug))
    return f"/act/{action_token(ActionLink(person, community, action))}"


def fresh_token(c: TestClient) -> str:
    return csrf(c.get("/sign-in").text)


# CSRF: a form without this browser's own token does nothing.
@case("volunteer without a CSRF token")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c)
    with f.unchanged():
        f.refused(c.post("/cops/aaot/volunteer", data={}), 403)
    return f


@case("volunteer with a forged CSRF token")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c)
    with f.unchanged():
        f.refused(c.post("/cops/aaot/volunteer", data={"csrf_token": "x" * 43}), 403)
    return f


@case("volunteer with another browser's CSRF token")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c)
    with support.client() as other:
        theirs = fresh_token(other)
    with f.unchanged():
        f.refused(c.post("/cops/aaot/volunteer", data={"csrf_token": theirs}), 403)
    return f


@case("leave without a CSRF token")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c)
    with f.unchanged():
        f.refused(c.post("/cops/aaot/leave"), 403)
    return f


@case("opt out with an empty CSRF token")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c)
    with f.unchanged():
        f.refused(c.post("/cops/aaot/opt-out", data={"csrf_token": ""}), 403)
    return f


@case("stop emails with the token sent as a query parameter")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c)
    with f.unchanged():
        f.refused(c.post(f"/cops/aaot/stop-emails?csrf_token={token}"), 403)
    return f


@case("change address with a forged CSRF token")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c)
    with f.unchanged():
        f.refused(c.post("/address", data={"csrf_token": "forged" * 8, "email": "evil@example.com"}), 403)
    return f


@case("sign out without a CSRF token (a cross-site sign-out)")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c)
    with f.unchanged():
        f.refused(c.post("/sign-out"), 403)
    f.check("Signed in as" in c.get("/").text, "signed out by a cross-site form")
    return f


@case("ask for a sign-in link without a CSRF token")
def _(c: TestClient) -> Found:
    f = Found()
    with f.unchanged():
        f.refused(c.post("/sign-in", data={"email": MEMBER}), 403)
    return f


@case("use a sign-in link without a CSRF token")
def _(c: TestClient) -> Found:
    f = Found()
    support.ask_link(c, MEMBER)
    link = support.outbox_links(MEMBER)[-1]
    with f.unchanged():
        f.refused(c.post(link), 403)
    return f


@case("press an email link's button without a CSRF token")
def _(c: TestClient) -> Found:
    f = Found()
    link = link_for(MEMBER, "leave")
    with f.unchanged():
        f.refused(c.post(link), 403)
    return f


@case("a cross-site form from a browser with no cookie at all")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c)
    with support.client() as stranger, f.unchanged():
        f.refused(stranger.post("/cops/aaot/leave", data={"csrf_token": ""}), 403)
    return f


# Sign-in links: once, for 15 minutes, only as issued.
@case("replay a used sign-in link")
def _(c: TestClient) -> Found:
    f = Found()
    support.ask_link(c, MEMBER)
    link = support.outbox_links(MEMBER)[-1]
    f.check(c.post(link, data={"csrf_token": csrf(c.get(link).text)}).status_code == 303,
            "the link did not sign in the first time")
    with support.client() as thief:
        token = fresh_token(thief)
        with f.unchanged():
            f.refused(thief.post(link, data={"csrf_token": token}), 410)
    return f


@case("use an expired sign-in link")
def _(c: TestClient) -> Found:
    f = Found()
    support.ask_link(c, MEMBER)
    link = support.outbox_links(MEMBER)[-1]
    page = c.get(link)
    with session_scope() as db:
        db.execute(update(WebToken).values(expires_at=WebToken.created_at - timedelta(seconds=1)))
    with f.unchanged():
        f.refused(c.post(link, data={"csrf_token": csrf(page.text)}), 410)
    return f


@case("a made-up sign-in link")
def _(c: TestClient) -> Found:
    f = Found()
    with f.unchanged():
        f.refused(c.post("/sign-in/" + "A" * 43, data={"csrf_token": fresh_token(c)}), 410)
    return f


@case("a sign-in link with its last character changed")
def _(c: TestClient) -> Found:
    f = Found()
    support.ask_link(c, MEMBER)
    link = support.outbox_links(MEMBER)[-1]
    changed = link[:-1] + ("A" if link[-1] != "A" else "B")
    with f.unchanged():
        f.refused(c.post(changed, data={"csrf_token": fresh_token(c)}), 410)
    return f


@case("an overlong sign-in link")
def _(c: TestClient) -> Found:
    f = Found()
    with f.unchanged():
        f.refused(c.post("/sign-in/" + "A" * 5000, data={"csrf_token": fresh_token(c)}))
    return f


# Links in emails: signed, single-purpose, bound to one person and one CoP, expiring, once.
@case("replay a used email link")
def _(c: TestClient) -> Found:
    f = Found()
    link = link_for(MEMBER, "opt-out")
    f.check(c.post(link, data={"csrf_token": csrf(c.get(link).text)}).status_code == 200,
            "the link did not work the first time")
    with f.unchanged():
        f.refused(c.post(link, data={"csrf_token": fresh_token(c)}), 410)
    return f


@case("an expired email link")
def _(c: TestClient) -> Found:
    f = Found()
    from tasks.web_links import LINK_DAYS

    real = time.time
    try:
        time.time = lambda: real() - (LINK_DAYS + 1) * 86_400  # signed a month and a day ago
        link = link_for(MEMBER, "volunteer")
    finally:
        time.time = real
    with f.unchanged():
        f.refused(c.post(link, data={"csrf_token": fresh_token(c)}), 410)
    return f


@case("an email link with its payload edited to another person")
def _(c: TestClient) -> Found:
    f = Found()
    import base64
    import json

    link = link_for(MEMBER, "leave")
    payload, rest = link.removeprefix("/act/").split(".", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    with session_scope() as db:
        data["p"] = db.scalar(select(Person.id).where(Person.email == OTHER_MEMBER))
    forged = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    with f.unchanged():
        f.refused(c.post(f"/act/{forged}.{rest}", data={"csrf_token": fresh_token(c)}), 410)
    return f


@case("an email link signed with another secret")
def _(c: TestClient) -> Found:
    f = Found()
    from itsdangerous import URLSafeTimedSerializer

    with session_scope() as db:
        person = db.scalar(select(Person.id).where(Person.email == MEMBER))
    token = URLSafeTimedSerializer("not-the-secret" * 4, salt="copflow-action-link").dumps(
        {"p": person, "c": 1, "a": "leave", "n": "x"})
    with f.unchanged():
        f.refused(c.post(f"/act/{token}", data={"csrf_token": fresh_token(c)}), 410)
    return f


@case("an email link for an action that is not one")
def _(c: TestClient) -> Found:
    f = Found()
    link = link_for(MEMBER, "make-convenor")
    with f.unchanged():
        f.refused(c.post(link, data={"csrf_token": fresh_token(c)}), 410)
    return f


@case("another person's email link, in a browser signed in as someone else")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c, OTHER_MEMBER)
    link = link_for(MEMBER, "leave")
    with f.unchanged():
        page = c.get(link)
        f.refused(c.post(link, data={"csrf_token": csrf(page.text)}), 410)
    return f


@case("an email link for a CoP the person is not in")
def _(c: TestClient) -> Found:
    f = Found()
    link = link_for(MEMBER, "volunteer", slug="wound-care")
    with f.unchanged():
        f.refused(c.post(link, data={"csrf_token": fresh_token(c)}), 410)
    return f


@case("an email link used after the member has left")
def _(c: TestClient) -> Found:
    f = Found()
    link = link_for(MEMBER, "volunteer")
    leave = link_for(MEMBER, "leave")
    f.check(c.post(leave, data={"csrf_token": fresh_token(c)}).status_code == 200, "the member could not leave")
    with f.unchanged():
        f.refused(c.post(link, data={"csrf_token": fresh_token(c)}), 410)
    return f


@case("a convenor's email link to leave (a convenor may not leave)")
def _(c: TestClient) -> Found:
    f = Found()
    link = link_for(cop.CONVENOR, "leave")
    with f.unchanged():
        f.refused(c.post(link, data={"csrf_token": fresh_token(c)}), 400, 403)
    return f


# Members act only on their own CoPs; sponsors never act.
@case("a member volunteers in a CoP they are not in")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c)
    with f.unchanged():
        f.refused(c.post("/cops/wound-care/volunteer", data={"csrf_token": token}), 404)
    return f


@case("a member leaves a CoP they are not in")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c)
    with f.unchanged():
        f.refused(c.post("/cops/wound-care/leave", data={"csrf_token": token}), 404)
    return f


@case("a member opens a CoP they are not in")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c)
    with f.unchanged():
        answer = c.get("/cops/wound-care")
    f.refused(answer, 404)
    f.check("Wound" not in answer.text, "the other CoP's name is shown")
    return f


@case("a member acts on a CoP that does not exist")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c)
    with f.unchanged():
        f.refused(c.post("/cops/no-such-cop/volunteer", data={"csrf_token": token}), 404)
    return f


@case("a member posts an action that does not exist")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c)
    with f.unchanged():
        f.refused(c.post("/cops/aaot/make-convenor", data={"csrf_token": token}), 404)
    return f


@case("a member acts on an archived CoP")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c)
    with session_scope() as db:
        db.execute(update(Community).where(Community.slug == "aaot").values(stage="archived"))
    with f.unchanged():
        f.refused(c.post("/cops/aaot/volunteer", data={"csrf_token": token}), 400, 403)
    return f


@case("a former member acts on the CoP they left")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c)
    f.check(c.post("/cops/aaot/leave", data={"csrf_token": token}).status_code == 200, "the member could not leave")
    with f.unchanged():
        f.refused(c.post("/cops/aaot/volunteer", data={"csrf_token": token}), 404)
    return f


@case("a sponsor volunteers in the CoP they sponsor")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c, cop.SPONSOR)
    with f.unchanged():
        f.refused(c.post("/cops/aaot/volunteer", data={"csrf_token": token}), 404)
    return f


@case("a sponsor leaves the CoP they sponsor")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c, cop.SPONSOR)
    with f.unchanged():
        f.refused(c.post("/cops/aaot/leave", data={"csrf_token": token}), 404)
    return f


@case("a sponsor stops the CoP's emails")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c, cop.SPONSOR)
    with f.unchanged():
        f.refused(c.post("/cops/aaot/stop-emails", data={"csrf_token": token}), 404)
    return f


@case("a sponsor with an email link made for them")
def _(c: TestClient) -> Found:
    f = Found()
    link = link_for(cop.SPONSOR, "volunteer")
    with f.unchanged():
        f.refused(c.post(link, data={"csrf_token": fresh_token(c)}), 410)
    return f


@case("a member reads a report sent to a sponsor")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c)
    with session_scope() as db:
        db.execute(update(OutboxMessage).where(OutboxMessage.template == "sponsor-launch-notice")
                   .values(template="sponsor-report", status="sent"))
        report = db.scalar(select(OutboxMessage.id).where(OutboxMessage.template == "sponsor-report"))
    with f.unchanged():
        f.refused(c.get(f"/reports/{report}"), 404)
    return f


# Cookies: signed, and ended by signing out.
@case("the session cookie from before sign-out")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c)
    old = dict(c.cookies)
    f.check(c.post("/sign-out", data={"csrf_token": token}).status_code == 200, "could not sign out")
    c.cookies.clear()
    c.cookies.update(old)
    with f.unchanged():
        f.to_sign_in(c.post("/cops/aaot/volunteer", data={"csrf_token": token}))
    return f


@case("a tampered session cookie")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c)
    value = c.cookies["copflow_session"]
    c.cookies.clear()
    c.cookies.set("copflow_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    with f.unchanged():
        answer = c.post("/cops/aaot/volunteer", data={"csrf_token": token})
    f.check(answer.status_code in (303, 403), f"answered {answer.status_code}, not 303 or 403")
    return f


@case("a session cookie signed with another secret")
def _(c: TestClient) -> Found:
    f = Found()
    import base64
    import json

    from itsdangerous import TimestampSigner

    signed(c)
    with session_scope() as db:
        db.execute(update(WebSession).values(session_hash="0" * 64))
    data = base64.b64encode(json.dumps({"sid": "x" * 43, "csrf": "y" * 43}).encode())
    c.cookies.clear()
    c.cookies.set("copflow_session", TimestampSigner("another-secret" * 3).sign(data).decode())
    with f.unchanged():
        answer = c.post("/cops/aaot/volunteer", data={"csrf_token": "y" * 43})
    f.check(answer.status_code in (303, 403), f"answered {answer.status_code}, not 303 or 403")
    return f


@case("a session that is too old")
def _(c: TestClient) -> Found:
    f = Found()
    from tasks.usecases.sign_in import SESSION_HOURS

    token = signed(c)
    with session_scope() as db:
        db.execute(update(WebSession).values(created_at=WebSession.created_at - timedelta(hours=SESSION_HOURS + 1)))
    with f.unchanged():
        f.to_sign_in(c.post("/cops/aaot/volunteer", data={"csrf_token": token}))
    return f


# Open redirects: after signing in, only a path on this site.
def _redirect_case(next_value: str) -> Callable[[TestClient], Found]:
    def run(c: TestClient) -> Found:
        f = Found()
        support.ask_link(c, MEMBER, next=next_value)
        link = support.outbox_links(MEMBER)[-1]
        answer = c.post(link, data={"csrf_token": csrf(c.get(link).text)})
        f.check(answer.status_code == 303 and answer.headers.get("location") == "/",
                f"{answer.status_code}, sent to {answer.headers.get('location')!r}, not /")
        return f
    return run


for _next in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
              "/cops\r\nSet-Cookie: x=1", "http:/evil.example"):
    CASES[f"an open redirect through next={_next!r}"] = _redirect_case(_next)


# Text people typed is shown as text.
@case("HTML in a person's name")
def _(c: TestClient) -> Found:
    f = Found()
    with session_scope() as db:
        db.execute(update(Person).where(Person.email == MEMBER).values(name="<script>alert(1)</script>"))
    signed(c)
    page = c.get("/").text
    f.check("<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page, "the name is not shown as text")
    return f


@case("HTML in a CoP's name, on its page and its confirmation page")
def _(c: TestClient) -> Found:
    f = Found()
    with session_scope() as db:
        db.execute(update(Community).where(Community.slug == "aaot").values(name='<img src=x onerror="alert(1)">'))
    signed(c)
    for path in ("/cops/aaot", "/cops/aaot/leave", link_for(MEMBER, "volunteer")):
        page = c.get(path).text
        f.check("<img" not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page,
                f"{path}: the name is not shown as text")
    return f


@case("HTML in an address typed into the sign-in form")
def _(c: TestClient) -> Found:
    f = Found()
    with f.unchanged():
        answer = c.post("/sign-in", data={"email": '"><script>alert(1)</script>', "csrf_token": fresh_token(c)})
    f.refused(answer, 400)
    f.check("<script>" not in answer.text, "the address is not shown as text")
    return f


@case("an address that is not one, typed as a new address")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c)
    with f.unchanged():
        answer = c.post("/address", data={"csrf_token": token, "email": "<b>not an address</b>"})
    f.refused(answer, 400)
    f.check("<b>" not in answer.text, "the address is not shown as text")
    return f


# Rate limits, per address and per client, kept in the database.
@case("a fourth sign-in link for one address within 15 minutes")
def _(c: TestClient) -> Found:
    f = Found()
    for _ in range(3):
        f.check(support.ask_link(c, MEMBER).status_code == 200, "a link within the limit was refused")
    with f.unchanged():
        f.refused(support.ask_link(c, MEMBER), 429)
    return f


@case("an eleventh sign-in request from one client within 15 minutes")
def _(c: TestClient) -> Found:
    f = Found()
    for n in range(10):
        f.check(support.ask_link(c, f"someone{n}@example.com").status_code == 200, "a link within the limit was refused")
    with f.unchanged():
        f.refused(support.ask_link(c, MEMBER), 429)
    return f


@case("the address limit holds across another replica of the app")
def _(c: TestClient) -> Found:
    f = Found()
    for _ in range(3):
        support.ask_link(c, MEMBER)
    with support.client() as replica, f.unchanged():
        f.refused(support.ask_link(replica, MEMBER), 429)
    return f


@case("an overlong address")
def _(c: TestClient) -> Found:
    f = Found()
    with f.unchanged():
        f.refused(c.post("/sign-in", data={"email": "a" * 10_000 + "@example.com", "csrf_token": fresh_token(c)}), 400)
    return f


@case("a member page without signing in")
def _(c: TestClient) -> Found:
    f = Found()
    with f.unchanged():
        f.to_sign_in(c.get("/cops/aaot"))
        f.to_sign_in(c.get("/reports"))
        f.to_sign_in(c.get("/address"))
    return f


# The console and the portfolio: read-only pages only their own people see.
STAFF = "pat.programme@example.nhs.uk"


@contextmanager
def staff_listed(address: str = STAFF) -> Iterator[None]:
    from tasks.storage.settings import get_settings

    before = os.environ.get("COPFLOW_PROGRAMME_STAFF")
    os.environ["COPFLOW_PROGRAMME_STAFF"] = address
    get_settings.cache_clear()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("COPFLOW_PROGRAMME_STAFF", None)
        else:
            os.environ["COPFLOW_PROGRAMME_STAFF"] = before
        get_settings.cache_clear()


@case("another CoP's convenor opens this CoP's console")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c, "kim@example.nhs.uk")
    with f.unchanged():
        answer = c.get("/cops/aaot")
    f.refused(answer, 404)
    f.check("Audit trail" not in answer.text and "Alcohol" not in answer.text, "the console is shown")
    return f


@case("programme staff open a CoP's console (they see the portfolio, not a CoP's desk)")
def _(c: TestClient) -> Found:
    f = Found()
    with staff_listed():
        signed(c, STAFF)
        f.refused(c.get("/cops/aaot"), 404)
    return f


for _path in ("/portfolio", "/portfolio.csv"):
    for _who, _label in ((MEMBER, "a member"), ("dana@example.nhs.uk", "a convenor"),
                         ("priya@example.nhs.uk", "a sponsor")):
        def _refuse(c: TestClient, who: str = _who, path: str = _path) -> Found:
            f = Found()
            with staff_listed():
                signed(c, who)
                with f.unchanged():
                    answer = c.get(path)
                f.refused(answer, 404)
                f.check(answer.text == c.get("/no-such-page").text and "Wound" not in answer.text,
                        "the answer differs from a page that is not there")
            return f
        case(f"{_label} asks for {_path} (not programme staff)")(_refuse)


@case("a signed-out browser asks for the portfolio's CSV")
def _(c: TestClient) -> Found:
    f = Found()
    with staff_listed(), f.unchanged():
        answer = c.get("/portfolio.csv")
    f.refused(answer, 404)
    f.check("aaot" not in answer.text, "a CoP is named")
    return f


@case("programme staff post to the read-only portfolio")
def _(c: TestClient) -> Found:
    f = Found()
    with staff_listed():
        token = signed(c, STAFF)
        with f.unchanged():
            f.refused(c.post("/portfolio", data={"csrf_token": token, "stage": "archived"}), 404, 405)
    return f


@case("programme staff ask for a portfolio filter that is not one")
def _(c: TestClient) -> Found:
    f = Found()
    with staff_listed():
        signed(c, STAFF)
        with f.unchanged():
            f.refused(c.get("/portfolio?signal=%3Cscript%3E"), 400)
    return f

# The convenor's records (web/records.py, cop_tasks.py, cop_members.py, create.py): only the CoP's
# convenor and planning group may post them; everyone else is refused with nothing changed.
OTHER_CONVENOR = "kim@example.nhs.uk"


def _pid(email: str) -> int:
    with session_scope() as db:
        return int(db.scalar(select(Person.id).where(Person.email == email)) or 0)


def _a_task() -> int:
    from tasks.usecases.planning_tasks import add_task

    return cop.in_db(lambda db: add_task(db, "aaot", title="Book a room", due=None, notes=None,
                                         actor=cop.CONVENOR, today=cop.DAY0).id)


RECORD_POSTS: dict[str, Callable[[], tuple[str, dict[str, Any]]]] = {
    "record a session": lambda: ("/cops/aaot/sessions/new", {
        "held_on": str(cop.DAY0), "attended": [_pid(cop.CONVENOR), _pid(MEMBER)], "topics": "A case"}),
    "plan the next session": lambda: ("/cops/aaot/sessions/plan", {"starts_at": "2030-01-10T14:00"}),
    "add a task": lambda: ("/cops/aaot/tasks/add", {"title": "Book a room"}),
    "reassign a task": lambda: (f"/cops/aaot/tasks/{_a_task()}/reassign", {"to": str(_pid(MEMBER))}),
    "complete a task": lambda: (f"/cops/aaot/tasks/{_a_task()}/complete", {}),
    "add a member": lambda: ("/cops/aaot/members/add", {"name": "Kit Ward", "email": "kit@example.org",
                                                        "kind": "practitioner"}),
    "remove a member": lambda: (f"/cops/aaot/members/{_pid(OTHER_MEMBER)}/remove", {}),
}


def _record_refused(what: str, who: str) -> Callable[[TestClient], Found]:
    def run(c: TestClient) -> Found:
        f = Found()
        path, form = RECORD_POSTS[what]()
        token = signed(c, cop.CONVENOR if who in ("no-csrf", "archived") else who)
        if who == "archived":  # the form was opened, then the CoP was archived
            token = csrf(c.get("/cops/aaot/tasks").text)
            with session_scope() as db:
                db.execute(update(Community).where(Community.slug == "aaot").values(stage="archived"))
        with f.unchanged():
            answer = c.post(path, data={**form, **({} if who == "no-csrf" else {"csrf_token": token})})
        if who == "archived":
            f.refused(answer, 403)
            f.check("aaot is archived and read-only" in answer.text, "the refusal does not say the CoP is archived")
        else:
            f.refused(answer, 403 if who == "no-csrf" else 404)
        return f
    return run


for _what in RECORD_POSTS:
    for _who, _label in ((MEMBER, "a plain member"), (cop.SPONSOR, "a sponsor"),
                         (OTHER_CONVENOR, "another CoP's convenor"), ("no-csrf", "the convenor without a CSRF token"),
                         ("archived", "the convenor, with a form opened before the CoP was archived")):
        CASES[f"{_what}, by {_label}"] = _record_refused(_what, _who)


def _record_pages_hidden(who: str) -> Callable[[TestClient], Found]:
    def run(c: TestClient) -> Found:
        f = Found()
        signed(c, who)
        with f.unchanged():
            for path in ("/cops/aaot/sessions/new", "/cops/aaot/sessions/plan", "/cops/aaot/tasks",
                         "/cops/aaot/members"):
                answer = c.get(path)
                f.refused(answer, 404)
                f.check("Alcohol" not in answer.text, f"{path}: the CoP is named")
        return f
    return run


for _who, _label in ((MEMBER, "a plain member"), (cop.SPONSOR, "a sponsor"), (OTHER_CONVENOR, "another CoP's convenor")):
    CASES[f"the record pages, opened by {_label}"] = _record_pages_hidden(_who)


@case("create a CoP without a CSRF token")
def _(c: TestClient) -> Found:
    f = Found()
    signed(c, cop.CONVENOR)
    with f.unchanged():
        f.refused(c.post("/new", files={"charter": ("c.yaml", OTHER_CHARTER.replace("wound-care", "w2").encode())}),
                403)
    return f


@case("create a CoP from a browser that is not signed in")
def _(c: TestClient) -> Found:
    f = Found()
    with f.unchanged():
        f.to_sign_in(c.post("/new", data={"csrf_token": fresh_token(c), "name": "X"}))
    return f


@case("create a CoP with a charter naming another person as its convenor")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c, MEMBER)
    with f.unchanged():
        answer = c.post("/new", data={"csrf_token": token},
                        files={"charter": ("c.yaml", OTHER_CHARTER.replace("wound-care", "w2").encode())})
    f.refused(answer, 400)
    f.check('id="charter-error"' in answer.text, "the charter's problem is not shown")
    return f


@case("create a CoP with a body larger than the limit")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c, cop.CONVENOR)
    with f.unchanged():
        f.refused(c.post("/new", data={"csrf_token": token}, files={"charter": ("c.yaml", b"a: b\n" * 200_000)}), 413)
    return f


@case("create a CoP with a charter of YAML aliases")
def _(c: TestClient) -> Found:
    f = Found()
    token = signed(c, cop.CONVENOR)
    bomb = b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    with f.unchanged():
        f.refused(c.post("/new", data={"csrf_token": token}, files={"charter": ("c.yaml", bomb)}), 400)
    return f


# Hostile text in every free-text field a convenor types: refused or stored, it is shown as text.
HOSTILE = {
    "HTML": '<script>alert(1)</script><img src=x onerror="alert(2)">',
    "header-like": "Hello\r\nBcc: evil@example.com\r\n\r\n<script>alert(3)</script>",
    "very long": "<script>" + "x" * 100_000,
}
FREE_TEXT: dict[str, tuple[str, str, dict[str, Any]]] = {
    "topics": ("/cops/aaot/sessions/new", "topics", {"held_on": str(cop.DAY0)}),
    "methods": ("/cops/aaot/sessions/new", "methods", {"held_on": str(cop.DAY0)}),
    "outputs": ("/cops/aaot/sessions/new", "outputs", {"held_on": str(cop.DAY0)}),
    "a story": ("/cops/aaot/sessions/new", "stories", {"held_on": str(cop.DAY0)}),
    "the date held": ("/cops/aaot/sessions/new", "held_on", {}),
    # Before the CoP existed: refused after the text is checked, so no flow (and no Prefect) runs here.
    "the agenda": ("/cops/aaot/sessions/plan", "agenda", {"starts_at": "2026-01-10T14:00"}),
    "the session start": ("/cops/aaot/sessions/plan", "starts_at", {}),
    "a task's title": ("/cops/aaot/tasks/add", "title", {}),
    "a task's notes": ("/cops/aaot/tasks/add", "notes", {"title": "Book a room"}),
    "a task's due date": ("/cops/aaot/tasks/add", "due", {"title": "Book a room"}),
    "a new member's name": ("/cops/aaot/members/add", "name", {"email": "kit@example.org", "kind": "practitioner"}),
    "a new member's email": ("/cops/aaot/members/add", "email", {"name": "Kit Ward", "kind": "practitioner"}),
    "a new CoP's name": ("/new", "name", {}),
    "a new CoP's domain": ("/new", "domain", {"name": "Falls"}),
    "a new CoP's practice": ("/new", "practice", {"name": "Falls"}),
    "a new CoP's location": ("/new", "location", {"name": "Falls"}),
    "a new CoP's sponsors": ("/new", "sponsors", {"name": "Falls"}),
    "a new CoP's members": ("/new", "members", {"name": "Falls"}),
    "a new CoP's slug": ("/new", "slug", {"name": "Falls"}),
}


def _hostile(path: str, field: str, form: dict[str, Any], text: str) -> Callable[[TestClient], Found]:
    def run(c: TestClient) -> Found:
        f = Found()
        token = signed(c, cop.CONVENOR)
        answer = c.post(path, data={"csrf_token": token, **form, field: text})
        f.check(answer.status_code in (200, 303, 400, 403), f"answered {answer.status_code}")
        pages = [answer.text] + ([c.get(answer.headers["location"]).text] if answer.status_code == 303 else [])
        for page in pages:
            f.check("<script>" not in page and "<img src=x" not in page, "the text is shown as HTML")
        if answer.status_code == 400:  # refused: the form comes back filled in, as text
            f.check(any("&lt;script&gt;" in page for page in pages), "the text typed is shown as text")
        return f
    return run


for _where, (_path, _field, _form) in FREE_TEXT.items():
    for _kind, _text in HOSTILE.items():
        CASES[f"{_kind} text in {_where}"] = _hostile(_path, _field, _form, _text)


@pytest.fixture
def two_cops(home: Path) -> Path:
    cop.create()
    cop.launched()
    cop.create(OTHER_CHARTER)
    return home


@pytest.mark.parametrize("name", list(CASES))
def test_web_drill(name: str, two_cops: Path) -> None:
    DRILLS.web()
    with support.client() as c:
        found = CASES[name](c)
    assert found == [], f"{name}: " + "; ".join(found)


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40



# The convenor's decisions (web/decisions.py): each refused, with nothing changed, for a member,
# a sponsor, another CoP's convenor, a stale form (the CoP changed after it was drawn), a form
# without its CSRF token, and a decision the CoP's stage does not allow.
def _active() -> None:
    cop.hold_session("aaot", cop.DAY0 + timedelta(days=10))


def _close_now() -> None:
    from tasks.usecases.close import close

    cop.in_db(close, "aaot", actor=cop.CONVENOR, reason="the work is done", successor=None, notice_days=14,
              today=cop.DAY0 + timedelta(days=20), flow_run_id=None)


def _closing() -> None:
    _active()
    _close_now()


def _continued() -> None:
    from tasks.usecases.close import continue_community

    cop.in_db(continue_community, "aaot", actor=cop.CONVENOR, today=cop.DAY0 + timedelta(days=21), flow_run_id=None)


def _withdrawn() -> None:
    from tasks.usecases.withdraw import withdraw

    cop.in_db(withdraw, "aaot", actor=cop.CONVENOR, reason="never met", today=cop.DAY0 + timedelta(days=2),
              flow_run_id=None)


Step = Callable[[], object]
# decision: (its stage's setup, what makes a drawn form stale, a setup where it is not allowed, fields)
DECISIONS: dict[str, tuple[Step, Step, Step, dict[str, str]]] = {
    "launch": (lambda: None, cop.launched, lambda: (cop.launched(), _active()), {}),
    "withdraw": (cop.launched, _active, lambda: (cop.launched(), _active()), {"reason": "never met"}),
    "rotate": (lambda: (cop.launched(), _active()), _close_now, lambda: (cop.launched(), _closing()), {}),
    "close": (lambda: (cop.launched(), _active()), _close_now, lambda: (cop.launched(), _closing()),
              {"reason": "the work is done"}),
    "continue": (lambda: (cop.launched(), _closing()), _continued, lambda: (cop.launched(), _active()), {}),
    "archive": (lambda: (cop.launched(), _closing()), _continued, lambda: (cop.launched(), _active()),
                {"now": "yes"}),
    "hand-over": (lambda: (cop.launched(), _active()), _close_now, lambda: (cop.launched(), _withdrawn()), {}),
}


def _drawn_now() -> str:
    with session_scope() as db:
        return str(db.scalar(select(Community.version).where(Community.slug == "aaot")))


def _fields(decision: str) -> dict[str, str]:
    with session_scope() as db:
        sam = db.scalar(select(Person.id).where(Person.email == OTHER_MEMBER))
    return {**DECISIONS[decision][3], **({"to": str(sam)} if decision == "hand-over" else {})}


def _forged(c: TestClient, who: str, decision: str, said: str | None) -> Found:
    """Someone who may not decide sends a well-formed form (their own CSRF token, today's version):
    the command line's line (403), or for someone not part of the CoP, no such page (404)."""
    f = Found()
    token = signed(c, who)
    with f.unchanged():
        answer = c.post(f"/cops/aaot/decide/{decision}",
                        data={"csrf_token": token, "drawn": _drawn_now(), **_fields(decision)})
        shown = c.get(f"/cops/aaot/decide/{decision}")
    f.refused(answer, 403 if said else 404)
    f.refused(shown, 403 if said else 404)
    if said:
        f.check(f"{who} may not act on aaot: {said}" in answer.text, "the refusal does not say why")
    return f


def _stale(c: TestClient, decision: str) -> Found:
    f = Found()
    sign_in(c, cop.CONVENOR)
    page = c.get(f"/cops/aaot/decide/{decision}")
    drawn = re.search(r'name="drawn" value="(\d+)"', page.text)
    if not f.check(page.status_code == 200 and drawn is not None, f"the form did not open: {page.text[:300]!r}") \
            or drawn is None:
        return f
    DECISIONS[decision][1]()  # someone else changes the CoP after the form was drawn
    with f.unchanged():
        answer = c.post(f"/cops/aaot/decide/{decision}",
                        data={"csrf_token": csrf(page.text), "drawn": drawn.group(1), **_fields(decision)})
    f.refused(answer, 403)
    f.check("has changed since this form was drawn" in answer.text, "the refusal does not say the CoP changed")
    return f


def _no_csrf(c: TestClient, decision: str) -> Found:
    f = Found()
    sign_in(c, cop.CONVENOR)
    with f.unchanged():
        f.refused(c.post(f"/cops/aaot/decide/{decision}", data={"drawn": _drawn_now(), **_fields(decision)}), 403)
    return f


def _not_allowed(c: TestClient, decision: str) -> Found:
    f = Found()
    token = signed(c, cop.CONVENOR)
    with f.unchanged():
        answer = c.post(f"/cops/aaot/decide/{decision}",
                        data={"csrf_token": token, "drawn": _drawn_now(), **_fields(decision)})
    f.refused(answer, 403)
    f.check("That could not be done" in answer.text, "the refusal is not the stage's")
    return f


DECISION_REFUSALS: dict[str, Callable[[TestClient, str], Found]] = {
    "a member": lambda c, d: _forged(c, MEMBER, d, "only the convenor and planning group may do this"),
    "a sponsor": lambda c, d: _forged(c, cop.SPONSOR, d, "sponsors receive reports and never decide"),
    "another CoP's convenor": lambda c, d: _forged(c, "kim@example.nhs.uk", d, None),
    "a stale form": _stale,
    "no CSRF token": _no_csrf,
    "a stage that does not allow it": _not_allowed,
}


@pytest.mark.parametrize("who", list(DECISION_REFUSALS))
@pytest.mark.parametrize("decision", list(DECISIONS))
def test_web_decision_drill(decision: str, who: str, home: Path) -> None:
    cop.create()
    cop.create(OTHER_CHARTER)
    setup = DECISIONS[decision][2 if who == "a stage that does not allow it" else 0]
    setup()
    DRILLS.web()
    DRILLS.permission()
    with support.client() as c:
        found = DECISION_REFUSALS[who](c, decision)
    assert found == [], f"{decision} by {who}: " + "; ".join(found)


def test_a_case_lists_every_check_that_failed_not_only_the_first() -> None:
    found = Found()
    found.check(False, "the answer was 200")
    found.check(True, "fine")
    found.check(False, "the database changed")
    assert found == ["the answer was 200", "the database changed"]
