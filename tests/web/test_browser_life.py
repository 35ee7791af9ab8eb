"""A CoP's whole life through the browser only, in headless Chromium: its convenor signs in,
creates it from the sample charter, launches it, records two sessions, adds a task, rotates the
planning lead (the task handed over), closes it with a successor and archives it at once. Every
page is checked with axe-core; the test reads only pages and the outbox folder.

One `copflow web` serves it all; its flows are recorded by this test run's local Prefect server.
A CoP holds one session a day and none before it was created, so the life takes two days: the
web process reads today's date from a calendar file (tests/support/web_calendar.py), set to
yesterday for creating, launching and the first session, then to today."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, SAMPLE_CHARTER
from tests.support import lifecycle as cop
from tests.support.servers import free_port
from tests.web.test_browser import CHROMIUM, _sign_in, _wait_until_up, axe_script, browser, check_accessible

__all__ = ["axe_script", "browser"]  # fixtures shared with test_browser.py

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")]

TODAY = date.today()
YESTERDAY = TODAY - timedelta(days=1)
PEOPLE = {"Sam Okafor": "sam@example.nhs.uk", "Lee Hart": "lee@example.org", "Ana Costa": "ana@example.ac.uk",
          "Dana Whitlow": cop.CONVENOR}
SPONSOR = "priya@example.nhs.uk"
NAME = "Alcohol Assertive Outreach Community of Practice"
SUCCESSOR = "Alcohol Outreach Next Steps"


@pytest.fixture
def calendar(tmp_path: Path) -> Path:
    path = tmp_path / "today.txt"
    path.write_text(YESTERDAY.isoformat())
    return path


@pytest.fixture
def life_server(home: Path, calendar: Path, local_prefect_server: str) -> Iterator[str]:
    """The convenor already convenes the successor (so she can sign in); nothing else exists."""
    successor = SAMPLE_CHARTER.read_text().replace("slug: aaot", "slug: aaot-next").replace(
        f"name: {NAME}", f"name: {SUCCESSOR}")
    cop.create(successor)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # No PREFECT_API_URL: the flows run in the web process, recorded by the session's local server.
    env = {**os.environ, "COPFLOW_WEB_URL": url, "PREFECT_API_URL": ""}
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "support" / "web_calendar.py"), str(calendar),
                             "web", "--port", str(port)], env=env, cwd=home.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_up(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def mail_to(home: Path, address: str, subject: str) -> str:
    """The plain text of the email to `address` whose subject has `subject`, from the outbox folder."""
    for _ in range(100):  # a flow's email is written as its page answers
        for path in (home / "outbox").glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address in str(message["To"]) and subject in str(message["Subject"]):
                return str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
        time.sleep(0.1)
    raise AssertionError(f"no email to {address} about {subject!r} in the outbox")


def test_a_convenor_lives_a_whole_life_of_a_cop_in_the_browser(
        life_server: str, home: Path, calendar: Path, browser: Any, axe_script: Path) -> None:
    seen: list[str] = []
    page = browser.new_context(bypass_csp=True).new_page()  # bypass_csp: only to inject axe-core

    def look() -> None:
        check_accessible(page, axe_script, seen)

    def press(button: str, then: str) -> None:
        page.get_by_role("button", name=button).click()
        page.get_by_text(then).first.wait_for()
        look()

    def what_changed(term: str) -> str:
        return str(page.locator(f"dt:text-is('{term}') + dd").inner_text())

    def decide(title: str) -> None:
        page.get_by_role("link", name=NAME).first.click()  # or "Back to ..."
        page.get_by_role("link", name="Decisions", exact=True).click()
        look()
        page.get_by_role("link", name=title).click()
        look()

    # Yesterday: sign in, create from the sample charter, launch, hold the first session.
    _sign_in(page, life_server, home, cop.CONVENOR, axe_script, seen)
    look()
    page.get_by_role("link", name="Create a community of practice").click()
    look()
    page.get_by_label("Charter file").set_input_files(str(SAMPLE_CHARTER))
    press("Create from the file", "Community created")
    page.get_by_role("link", name=NAME, exact=True).click()
    page.get_by_role("heading", name="Stage and what comes next").wait_for()
    look()

    page.get_by_role("link", name="Decisions", exact=True).click()
    look()
    page.get_by_role("link", name="Launch this community").click()
    look()
    press("Launch", "What changed")
    assert what_changed("Stage") == "Being set up, now starting"
    for name, address in PEOPLE.items():
        if name != "Dana Whitlow":
            assert NAME in mail_to(home, address, "You're invited")
    assert NAME in mail_to(home, SPONSOR, "has launched")

    page.get_by_role("link", name=NAME).first.click()  # or "Back to ..."
    page.get_by_role("link", name="Record a session").first.click()
    look()
    assert page.get_by_label("Date held").input_value() == YESTERDAY.isoformat()
    for name in ("Dana Whitlow (convenor)", "Sam Okafor", "Lee Hart"):
        page.get_by_label(name, exact=True).check()
    page.get_by_label("Topics").fill("A hard case")
    press("Record the session", "Session recorded")
    assert page.get_by_text("Stage: Starting → Meeting").is_visible()

    # Today: the second session, a task, the rotation, the close and the archive.
    calendar.write_text(TODAY.isoformat())
    page.get_by_role("link", name="Record a session").first.click()
    look()
    assert page.get_by_label("Date held").input_value() == TODAY.isoformat()
    for name in ("Dana Whitlow (convenor)", "Sam Okafor", "Ana Costa"):
        page.get_by_label(name, exact=True).check()
    press("Record the session", "Session recorded")

    page.get_by_role("link", name="Tasks", exact=True).first.click()
    look()
    page.get_by_label("What needs doing").fill("Book a room for the next session")
    press("Add the task", "The task was added.")

    lee = browser.new_context(bypass_csp=True).new_page()  # a member offers to lead, in their own browser
    _sign_in(lee, life_server, home, PEOPLE["Lee Hart"], axe_script, seen)
    lee.get_by_role("link", name=NAME, exact=True).click()
    check_accessible(lee, axe_script, seen)
    lee.get_by_role("button", name="Offer to lead").click()
    lee.get_by_text("Thank you: you have offered to lead planning.").wait_for()
    check_accessible(lee, axe_script, seen)

    decide("Hand planning to the next lead")
    press("Rotate the planning lead", "What changed")
    assert what_changed("Planning lead") == "Lee Hart, after Sam Okafor"  # the volunteer, after the first lead
    for address in (PEOPLE["Lee Hart"], PEOPLE["Sam Okafor"]):
        handover = mail_to(home, address, "Lee Hart is now planning lead")
        assert "Book a room for the next session" in handover

    decide("Close this community")
    page.get_by_label("Why it is closing").fill("The work carries on in the next steps community")
    page.get_by_label("Successor community (optional)").fill("aaot-next")
    press("Close with notice", "What changed")
    assert what_changed("Stage") == "Meeting, now closing"
    notice = mail_to(home, PEOPLE["Lee Hart"], "drawing to a close")
    assert "The work carries on in the next steps community" in notice and SUCCESSOR in notice
    assert "held 2 sessions" in notice

    decide("Archive this community")
    page.get_by_label("Archive now, before the notice period ends", exact=False).check()
    press("Archive", "What changed")
    assert what_changed("Stage") == "Closing, now closed"
    assert NAME in mail_to(home, SPONSOR, "final report")
    assert "flow run" in page.locator("main").inner_text()  # recorded by Prefect, and said so

    page.get_by_role("link", name=f"Back to {NAME}").click()
    page.get_by_text("The community has closed.").wait_for()
    look()
    assert page.get_by_text("This community has closed and its records are archived.").is_visible()
    assert len(seen) >= 25
