"""The web app in a real browser: Debian's headless Chromium driven by Playwright, against
`copflow web` served by uvicorn on loopback. A member signs in from the link in the outbox,
volunteers, opts out, changes address and leaves; every page is checked with axe-core (no
serious or critical accessibility violations). Skipped only when Chromium is not installed."""

from __future__ import annotations

import email
import os
import subprocess
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import COPFLOW, REPO
from tests.support import lifecycle as cop
from tests.support.servers import free_port

CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / ".cache" / "axe-core" / "axe.min.js"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SCREENSHOT = os.environ.get("COPFLOW_WEB_SCREENSHOT")  # a path: save the member's page there
SCREENSHOTS = os.environ.get("COPFLOW_WEB_SCREENSHOTS")  # a folder: the console's and the portfolio's
STAFF = "pat.programme@example.nhs.uk"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")]


@pytest.fixture(scope="module")
def axe_script() -> Path:
    if not AXE.exists():  # fetched once from npm (scripts/with-browser.sh), not committed
        subprocess.run([str(REPO / "scripts" / "with-browser.sh")], check=True, timeout=300)
    return AXE


@pytest.fixture
def server(home: Path) -> Iterator[str]:
    cop.create()
    cop.launched()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "COPFLOW_WEB_URL": url}
    proc = subprocess.Popen([COPFLOW, "web", "--port", str(port)], env=env, cwd=home.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_up(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _wait_until_up(url: str, proc: subprocess.Popen[str]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(f"copflow web stopped: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("copflow web did not answer /healthz")


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield launched
        launched.close()


def outbox_link(home: Path, address: str) -> str:
    """The sign-in link in the newest email to this address in the outbox folder."""
    for path in sorted((home / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if address in str(message["To"]) and "sign in" in str(message["Subject"]).lower():
            text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
            return next(word for word in text.split() if "/sign-in/" in word)
    raise AssertionError(f"no sign-in email to {address} in the outbox")


def check_accessible(page: Any, axe: Path, seen: list[str]) -> None:
    page.add_script_tag(path=str(axe))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], v["help"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{page.url}: {bad}"
    seen.append(page.url)


def _sign_in(page: Any, url: str, home: Path, address: str, axe: Path | None, seen: list[str]) -> None:
    page.goto(url)
    if axe:
        check_accessible(page, axe, seen)
    page.get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Send me a link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    if axe:
        check_accessible(page, axe, seen)
    for _ in range(50):  # the email is written to the outbox just after the page answers
        try:
            link = outbox_link(home, address)
            break
        except AssertionError:
            time.sleep(0.1)
    page.goto(link)
    if axe:
        check_accessible(page, axe, seen)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Your communities").wait_for()


def test_a_member_signs_in_volunteers_opts_out_changes_address_and_leaves(
        server: str, home: Path, browser: Any, axe_script: Path) -> None:
    from tests.support.lifecycle import MEMBER

    seen: list[str] = []
    context = browser.new_context(bypass_csp=True)  # only so the test can inject axe-core
    page = context.new_page()
    _sign_in(page, server, home, MEMBER, axe_script, seen)
    check_accessible(page, axe_script, seen)

    page.get_by_role("link", name="Alcohol Assertive Outreach Community of Practice").click()
    check_accessible(page, axe_script, seen)
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT, full_page=True)
    page.get_by_role("button", name="Offer to lead").click()
    page.get_by_text("Thank you: you have offered to lead planning.").wait_for()
    check_accessible(page, axe_script, seen)
    page.get_by_role("button", name="Do not ask me to lead").click()
    page.get_by_text("Done: you will not be asked to lead planning.").wait_for()

    page.get_by_role("link", name="Your email address").click()
    check_accessible(page, axe_script, seen)
    page.get_by_label("New email address").fill("not an address")
    page.get_by_role("button", name="Change my address").click()
    check_accessible(page, axe_script, seen)  # the error state too
    page.get_by_label("New email address").fill("lee.hart@example.org")
    page.get_by_role("button", name="Change my address").click()
    page.get_by_text("Your email address has been changed.").wait_for()
    check_accessible(page, axe_script, seen)

    page.goto(f"{server}/cops/aaot")
    page.get_by_role("link", name="Leave Alcohol Assertive Outreach Community of Practice").click()
    check_accessible(page, axe_script, seen)
    page.get_by_role("button", name="Leave").click()
    page.get_by_text("You have left the community.").wait_for()
    check_accessible(page, axe_script, seen)

    for path in ("/no-such-page", "/sign-in/expired-or-made-up"):
        page.goto(server + path)
        check_accessible(page, axe_script, seen)
    page.get_by_role("link", name="Ask for a new link").click()
    page.get_by_role("button", name="Send me a link").click()  # no address: the error state
    check_accessible(page, axe_script, seen)
    context.close()
    assert len(seen) >= 14

    audit = subprocess.run([COPFLOW, "audit", "aaot", "--json"], capture_output=True, text=True,
                           cwd=home.parent, check=True).stdout
    for action in ("member.volunteered", "member.opted-out", "member.address-changed", "member.left"):
        assert action in audit


@pytest.mark.any_database  # the browser without JavaScript; the offer itself: tests/web/test_web.py
def test_the_pages_work_without_javascript(server: str, home: Path, browser: Any) -> None:
    from tests.support.lifecycle import MEMBER

    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    _sign_in(page, server, home, MEMBER, None, [])
    page.get_by_role("link", name="Alcohol Assertive Outreach Community of Practice").click()
    page.get_by_role("button", name="Offer to lead").click()
    page.get_by_text("Thank you: you have offered to lead planning.").wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="You have signed out").wait_for()
    context.close()


@pytest.fixture
def console_server(home: Path) -> Iterator[str]:
    """A launched CoP with sessions, tasks and an audit trail; one programme-staff address listed."""
    from tests.web.test_console import _recorded_life

    cop.create()
    cop.launched()
    _recorded_life()
    second = (REPO / "examples" / "aaot-charter.yaml").read_text()  # the same convenor: a capacity warning
    cop.create(second.replace("slug: aaot", "slug: aaot-north").replace("name: Alcohol", "name: North Alcohol"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "COPFLOW_WEB_URL": url, "COPFLOW_PROGRAMME_STAFF": STAFF}
    proc = subprocess.Popen([COPFLOW, "web", "--port", str(port)], env=env, cwd=home.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_up(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.any_database  # axe-core on the pages; their figures: tests/web/test_console.py
def test_the_console_and_the_portfolio_pass_axe(console_server: str, home: Path, browser: Any,
                                                 axe_script: Path) -> None:
    from tests.support.lifecycle import CONVENOR

    seen: list[str] = []
    for who, link, heading, shot in ((CONVENOR, "Alcohol Assertive Outreach Community of Practice",
                                      "Audit trail", "console.png"),
                                     (STAFF, "The portfolio: every community's stage, health and fidelity",
                                      "People carrying more than one community", "portfolio.png")):
        context = browser.new_context(bypass_csp=True)  # only so the test can inject axe-core
        page = context.new_page()
        _sign_in(page, console_server, home, who, None, seen)
        page.get_by_role("link", name=link, exact=True).click()
        page.get_by_role("heading", name=heading).wait_for()
        check_accessible(page, axe_script, seen)
        if SCREENSHOTS:
            page.screenshot(path=str(Path(SCREENSHOTS) / shot), full_page=True)
        context.close()
    assert len(seen) == 2

def test_a_convenor_keeps_the_records_in_the_browser(server: str, home: Path, browser: Any,
                                                     axe_script: Path) -> None:
    """The record pages and their error states, by keyboard-reachable labels and buttons, each
    checked with axe-core (no flow runs here: tests/web/test_records.py runs those)."""
    seen: list[str] = []
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    _sign_in(page, server, home, cop.CONVENOR, None, seen)

    def submit(button: str, then: str) -> None:
        page.get_by_role("button", name=button).click()
        page.get_by_text(then).first.wait_for()
        check_accessible(page, axe_script, seen)

    page.goto(f"{server}/cops/aaot/tasks")
    check_accessible(page, axe_script, seen)
    submit("Add the task", "There is a problem")
    page.get_by_label("What needs doing").fill("Book a room")
    submit("Add the task", "The task was added.")
    submit("Mark #1 done", "The task is done.")
    page.get_by_role("link", name="Members").click()
    check_accessible(page, axe_script, seen)
    submit("Add the member", "There is a problem")
    page.get_by_label("Full name").fill("Kit Ward")
    page.get_by_label("Email address").fill("kit@example.org")
    submit("Add the member", "The member was added.")
    page.get_by_role("link", name="Record a session").click()
    check_accessible(page, axe_script, seen)
    submit("Record the session", "There is a problem")
    page.get_by_role("link", name="Plan the next session").click()
    check_accessible(page, axe_script, seen)
    submit("Plan it and send the invitations", "There is a problem")
    page.goto(f"{server}/new")
    check_accessible(page, axe_script, seen)
    submit("Create the community", "There is a problem")
    context.close()
    assert len(seen) >= 12
