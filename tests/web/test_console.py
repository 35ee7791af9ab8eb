"""The convenor's console (a CoP's page for its convenor and planning group) and the programme
portfolio, on the real routes over a real database: what each person sees, and what they do not."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from models.db.tables import Person
from tasks.storage.db import session_scope
from tests.support import lifecycle as cop
from tests.web import support
from tests.web.support import sign_in

CONVENOR, PLANNER, MEMBER = "dana@example.nhs.uk", "sam@example.nhs.uk", "lee@example.org"
STAFF = "pat.programme@example.nhs.uk"
HOSTILE = '<script>alert(1)</script>=HYPERLINK("http://evil")\r\nX-Injected: yes'
SECTIONS = ("Stage and what comes next", "Health", "Fidelity to the model", "Attendance", "People and roles",
            "Open planning tasks", "Upcoming", "Audit trail", "Record and plan")


def _recorded_life() -> None:
    """Three sessions with falling attendance, a task overdue and one not, all recorded today-relative."""
    from models.db.tables import Community
    from tasks.usecases.planning_tasks import add_task

    today = date.today()
    with session_scope() as db:  # the sample CoP dates from 2027: move its start before today's sessions
        db.execute(update(Community).values(created_on=today - timedelta(days=90),
                                            launched_on=today - timedelta(days=90)))
    held = [today - timedelta(days=d) for d in (60, 30, 5)]
    cop.hold_session("aaot", held[0], cop.EVERYONE)
    cop.hold_session("aaot", held[1], cop.EVERYONE[:3])
    cop.hold_session("aaot", held[2], cop.EVERYONE[:2])
    cop.in_db(add_task, "aaot", title="Book the room", due=today - timedelta(days=3), notes=None,
              actor=CONVENOR, today=today)
    cop.in_db(add_task, "aaot", title="Ask for a case", due=today + timedelta(days=9), notes=None,
              actor=CONVENOR, today=today)


@pytest.fixture
def staffed(launched_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from tasks.storage.settings import get_settings

    monkeypatch.setenv("COPFLOW_PROGRAMME_STAFF", f" {STAFF.upper()} , other@example.org")
    get_settings.cache_clear()
    with support.client() as c:
        yield c
    get_settings.cache_clear()


@pytest.mark.parametrize("who", [CONVENOR, PLANNER])
def test_the_convenor_and_planning_group_see_every_section_with_real_data(web, who: str) -> None:
    _recorded_life()
    sign_in(web, who)
    html = web.get("/cops/aaot").text
    for section in SECTIONS:
        assert section in html, section
    assert "Book the room" in html and "Ask for a case" in html and "Overdue" in html  # tasks, flagged in words
    assert "Session recorded" in html and "Task added" in html and "Dana Whitlow" in html  # audit, by name
    assert CONVENOR not in html.split("<main")[1]  # names, never addresses, in the console
    assert "7 of 8 criteria met" in html and "4 different people came to the last 3 sessions" in html  # evidence
    assert "Attendance has been falling over recent sessions" in html  # health, as today's check sees it
    assert "/cops/aaot/decide" in html and "/cops/aaot/sessions/new" in html
    assert "Sam Okafor" in html and "Leads next, in turn" in html


def test_the_attendance_chart_has_text_alternatives(web) -> None:
    _recorded_life()
    sign_in(web, CONVENOR)
    html = web.get("/cops/aaot").text
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "People who came" in svg and "Session date" in svg  # labelled axes
    held = date.today() - timedelta(days=5)
    assert f"{held:%-d %B %Y}: 2" in svg  # each point's value in words, not colour
    assert "Attendance as a table" in html and f"<td>{held:%-d %B %Y}</td><td>2</td>" in html


def test_a_plain_member_sees_no_console(web) -> None:
    _recorded_life()
    sign_in(web, MEMBER)
    html = web.get("/cops/aaot").text
    assert "Your part" in html  # their own page, as before
    for section in ("Fidelity to the model", "Audit trail", "Record and plan", "Open planning tasks"):
        assert section not in html
    assert "/decide" not in html and "Book the room" not in html


def test_another_cops_convenor_gets_not_found(web) -> None:
    other = (Path(__file__).parents[2] / "examples" / "aaot-charter.yaml").read_text()
    other = other.replace("slug: aaot", "slug: other").replace("dana@example.nhs.uk", "kim@example.nhs.uk")
    cop.create(other.replace("name: Alcohol", "name: Other"))
    sign_in(web, "kim@example.nhs.uk")
    answer = web.get("/cops/aaot")
    assert answer.status_code == 404 and "Audit trail" not in answer.text
    assert web.get("/cops/other").status_code == 200


def test_hostile_names_are_escaped_on_the_console(web) -> None:
    _recorded_life()
    with session_scope() as db:
        db.execute(update(Person).where(Person.email == PLANNER).values(name=HOSTILE))
    sign_in(web, CONVENOR)
    html = web.get("/cops/aaot").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_programme_staff_see_the_portfolio_and_the_home_page_links_to_it(staffed: TestClient) -> None:
    _recorded_life()
    sign_in(staffed, STAFF)  # not in any CoP: listed staff may still sign in
    assert 'href="/portfolio"' in staffed.get("/").text
    html = staffed.get("/portfolio").text
    assert "Portfolio" in html and "Alcohol Assertive Outreach" in html and "<svg" in html
    assert "of 8 met" in html and "People carrying more than one community" in html


def test_anyone_not_listed_gets_the_same_not_found_as_a_missing_page(staffed: TestClient) -> None:
    sign_in(staffed, CONVENOR)
    missing = staffed.get("/no-such-page")
    for path in ("/portfolio", "/portfolio.csv", "/portfolio?stage=active"):
        answer = staffed.get(path)
        assert answer.status_code == 404 and answer.text == missing.text
    assert 'href="/portfolio"' not in staffed.get("/").text


def test_the_portfolio_filters_by_stage_and_by_signal(staffed: TestClient) -> None:
    other = (Path(__file__).parents[2] / "examples" / "aaot-charter.yaml").read_text()
    cop.create(other.replace("slug: aaot", "slug: draft").replace("name: Alcohol", "name: Drafted"))
    _recorded_life()
    sign_in(staffed, STAFF)
    assert "Drafted" in staffed.get("/portfolio").text
    active = staffed.get("/portfolio?stage=active").text
    assert "Alcohol Assertive" in active and "Drafted" not in active
    proposed = staffed.get("/portfolio?stage=proposed&signal=").text
    assert "Drafted" in proposed and "Alcohol Assertive" not in proposed
    overdue = staffed.get("/portfolio?signal=overdue-tasks").text
    assert "Alcohol Assertive" in overdue and "Drafted" not in overdue
    assert staffed.get("/portfolio?stage=nonsense").status_code == 400
    rows = list(csv.reader(io.StringIO(staffed.get("/portfolio.csv?stage=proposed").text)))
    assert [r[0] for r in rows[1:]] == ["draft"]


def test_the_csv_download_escapes_formulas_and_markup(staffed: TestClient) -> None:
    _recorded_life()
    with session_scope() as db:  # a CoP named like a formula: the spreadsheet must show it, not run it
        from models.db.tables import Community

        db.execute(update(Community).where(Community.slug == "aaot").values(name=HOSTILE))
    sign_in(staffed, STAFF)
    answer = staffed.get("/portfolio.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    header, row = list(csv.reader(io.StringIO(answer.text)))
    assert header[:3] == ["slug", "name", "stage"] and row[0] == "aaot"
    assert row[header.index("overdue_tasks")] == "1"
    html = staffed.get("/portfolio").text
    assert "<script>alert(1)</script>" not in html and "X-Injected" not in answer.headers


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_starting_like_a_formula_is_shown_not_run(value: str) -> None:
    from web.portfolio import safe_cell

    assert safe_cell(value) == "'" + value and safe_cell("plain") == "plain" and safe_cell(3) == "3"


def test_the_console_of_a_cop_being_set_up_says_what_comes_next(web) -> None:
    other = (Path(__file__).parents[2] / "examples" / "aaot-charter.yaml").read_text()
    cop.create(other.replace("slug: aaot", "slug: draft").replace("name: Alcohol", "name: Drafted"))
    sign_in(web, CONVENOR)
    html = web.get("/cops/draft").text
    assert "The community is being set up." in html and "Launch: checks the charter" in html
    assert "Withdraw, if it will not meet after all" in html
    assert "Health is checked while a community is starting or meeting." in html
    assert "No session held yet." in html and "<svg" not in html
