"""Sessions and stories as a CoP runs them (issue 13, section 2), each scenario through the real
`copflow` command: guests, several stories, stories that surface later, the teller's consent in
the sponsor report, the final report and the archive, an invite for every planned session, dates
outside the CoP's life, and the task list."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import select

from models.db.tables import Story
from tests.conftest import CliRunner
from tests.support.lifecycle import CONVENOR, active, create, in_db, launched, outbox

SAM, LEE, ANA = "sam@example.nhs.uk", "lee@example.org", "ana@example.ac.uk"


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def one_error_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("copflow: "), done.stderr
    return lines[0]


def _stories() -> list[tuple[str, str, str | None]]:
    """(text, consent, session day) of every story stored, in the order recorded."""
    def read(db: object) -> list[tuple[str, str, str | None]]:
        rows = db.scalars(select(Story).order_by(Story.id))  # type: ignore[attr-defined]
        return [(s.text, s.consent, str(s.session.held_on) if s.session else None) for s in rows]
    return in_db(read)


@pytest.fixture
def own_prefect(home: Path, local_prefect_server: str) -> dict[str, str]:
    """No Prefect server configured: flows are recorded by the session's local Prefect server."""
    return {"PREFECT_API_URL": ""}


def test_guests_are_counted_and_never_stored_as_people(cli: CliRunner, home: Path) -> None:
    active(create())
    done = cli("session", "record", "aaot", "--on", "2027-02-11", "--attended", LEE, SAM, "--guests", "3",
               "--as", CONVENOR, "--today", "2027-02-11")
    assert ok(done) == "session on 2027-02-11 recorded for aaot: 5 attended\n"
    people = json.loads(ok(cli("community", "show", "aaot", "--json")))["members"]
    assert len(people) == 4  # nobody was added for the guests
    refused = cli("session", "record", "aaot", "--on", "2027-02-12", "--attended", LEE, "--guests", "501",
                  "--as", CONVENOR, "--today", "2027-02-12")
    assert "--guests" in one_error_line(refused, 2)


def test_several_stories_are_all_kept_and_a_later_one_joins_its_session_or_the_cop(cli: CliRunner) -> None:
    active(create())
    ok(cli("session", "record", "aaot", "--on", "2027-02-11", "--attended", LEE, "--story", "We phone first now",
           "--story", "Letters are plainer", "--consent", "named", "--as", CONVENOR, "--today", "2027-02-11"))
    late = cli("story", "add", "aaot", "--on", "2027-02-11", "A third team now phones first", "--as", CONVENOR,
               "--today", "2027-03-01")
    assert ok(late).startswith("story #3 added to the session on 2027-02-11, consent: private")
    corridor = cli("story", "add", "aaot", "--on", "2027-02-20", "Ward staff call us before discharge",
                   "--consent", "anonymous", "--teller", SAM, "--as", CONVENOR, "--today", "2027-03-01")
    assert "added to aaot on 2027-02-20 (no session that day), consent: anonymous" in ok(corridor)
    assert _stories() == [("We phone first now", "named", "2027-02-11"),
                          ("Letters are plainer", "named", "2027-02-11"),
                          ("A third team now phones first", "private", "2027-02-11"),
                          ("Ward staff call us before discharge", "anonymous", None)]
    stranger = cli("story", "add", "aaot", "--on", "2027-02-20", "x", "--teller", "who@example.org",
                   "--as", CONVENOR, "--today", "2027-03-01")
    assert "--teller" in one_error_line(stranger, 2)
    by_member = cli("story", "add", "aaot", "--on", "2027-02-20", "x", "--as", LEE, "--today", "2027-03-01")
    one_error_line(by_member, 3)  # recording is the convenor's and planning group's to do
    assert len(_stories()) == 4


def test_sessions_and_stories_are_dated_within_the_cops_life(cli: CliRunner) -> None:
    active(create())  # created on 2027-01-04
    before = cli("session", "record", "aaot", "--on", "2026-12-01", "--attended", LEE, "--as", CONVENOR,
                 "--today", "2027-02-11")
    assert one_error_line(before, 2) == "copflow: --on: 2026-12-01 is before aaot existed (created 2027-01-04)"
    ahead = cli("session", "record", "aaot", "--on", "2027-03-01", "--attended", LEE, "--as", CONVENOR,
                "--today", "2027-02-11")
    assert "after today" in one_error_line(ahead, 2)
    story = cli("story", "add", "aaot", "--on", "2026-12-01", "told", "--as", CONVENOR, "--today", "2027-02-11")
    assert "before aaot existed" in one_error_line(story, 2)
    assert _stories() == []


def test_consent_decides_what_sponsors_and_the_archive_see(cli: CliRunner, home: Path,
                                                          own_prefect: dict[str, str]) -> None:
    active(create())
    ok(cli("session", "record", "aaot", "--on", "2027-02-11", "--attended", LEE, SAM,
           "--story", "Lee Hart showed us the first letter he got; Sam rewrote ours", "--consent", "anonymous",
           "--teller", LEE, "--as", CONVENOR, "--today", "2027-02-11"))
    ok(cli("session", "record", "aaot", "--on", "2027-03-11", "--attended", LEE, "--story",
           "Lee told us about his relapse", "--as", CONVENOR, "--today", "2027-03-11"))  # no consent given
    ok(cli("story", "add", "aaot", "--on", "2027-03-11", "Two teams now visit in pairs", "--consent", "named",
           "--teller", SAM, "--as", CONVENOR, "--today", "2027-03-12"))
    ok(cli("report", "aaot", "--today", "2027-04-01", env=own_prefect))
    report = next(r for r in outbox("sponsor-report"))
    for body in (report.text_body, report.html_body):
        assert "relapse" not in body  # private: stays in the CoP
        assert "Lee Hart showed" not in body and "Sam rewrote" not in body  # anonymous: no names
        assert "[name withheld] showed us the first letter he got; [name withheld] rewrote ours" in body
        assert "Two teams now visit in pairs" in body  # named: as told, with the teller
        assert "told by sam okafor" in body.lower()

    from tasks.usecases.close import close
    in_db(close, "aaot", actor=CONVENOR, reason="the work is done", successor=None, notice_days=0,
          today=date(2027, 4, 20), flow_run_id=None)
    ok(cli("archive", "aaot", "--as", CONVENOR, "--now", "--today", "2027-04-20", env=own_prefect))
    final = next(r for r in outbox("final-sponsor-report"))
    assert "relapse" not in final.text_body and "relapse" not in final.html_body
    bundle = home / "archives" / "aaot"
    data = json.loads((bundle / "community.json").read_text())
    summary = (bundle / "summary.md").read_text()
    assert [(s["consent"], s["teller"]) for s in data["stories"]] == [("anonymous", None), ("named", "Sam Okafor")]
    assert data["stories"][0]["text"].startswith("[name withheld] showed us")
    assert [s["stories"] for s in data["sessions"]] == [[], [data["stories"][0]["text"]],
                                                        ["Two teams now visit in pairs"]]
    for text in (json.dumps(data), summary):
        assert "relapse" not in text and "Lee Hart showed" not in text
    assert "Two teams now visit in pairs" in summary


def _invites() -> list[tuple[str, str, int, str]]:
    """(to, uid, sequence, start) of every session invite queued, in order."""
    found = []
    for row in outbox("session-invitation"):
        event = next(c for c in Calendar.from_ical(row.calendar).walk() if c.name == "VEVENT")
        found.append((row.to_email, str(event["uid"]), int(event["sequence"]),
                      event.decoded("dtstart").strftime("%Y-%m-%d %H:%M")))
    return found


def test_the_planning_group_sets_the_next_date_and_every_member_gets_an_invite_that_updates(
        cli: CliRunner, own_prefect: dict[str, str]) -> None:
    active(create())  # first session held on 2027-01-14
    planned = cli("session", "plan", "aaot", "--on", "2027-02-11T14:00", "--agenda", "Home visits",
                  "--as", SAM, "--today", "2027-01-20", env=own_prefect)
    assert "next session of aaot planned for 2027-02-11 14:00: 4 calendar invites queued" in ok(planned)
    first = _invites()
    assert {to for to, *_ in first} == {CONVENOR, SAM, LEE, ANA}
    assert len({uid for _, uid, *_ in first}) == 1 and {seq for _, _, seq, _ in first} == {0}
    again = cli("session", "plan", "aaot", "--on", "2027-02-11T14:00", "--as", SAM, "--today", "2027-01-21",
                env=own_prefect)
    assert "already planned, nothing new to send" in ok(again) and len(_invites()) == 4
    ok(cli("session", "plan", "aaot", "--on", "2027-02-18T10:00", "--as", SAM, "--today", "2027-01-22",
           env=own_prefect))
    moved = _invites()[4:]
    assert {(uid, seq, start) for _, uid, seq, start in moved} == {(first[0][1], 1, "2027-02-18 10:00")}
    assert "has moved" in outbox("session-invitation")[-1].subject
    shown = ok(cli("community", "show", "aaot"))
    assert "  next session: 2027-02-18 10:00\n    - Home visits\n" in shown
    # Held: the next plan is a new calendar entry.
    ok(cli("session", "record", "aaot", "--on", "2027-02-18", "--attended", LEE, "--as", CONVENOR,
           "--today", "2027-02-18"))
    assert json.loads(ok(cli("community", "show", "aaot", "--json")))["next_session"] is None
    ok(cli("session", "plan", "aaot", "--on", "2027-03-18T10:00", "--as", SAM, "--today", "2027-02-19",
           env=own_prefect))
    assert _invites()[-1][1] != first[0][1] and _invites()[-1][2] == 0
    past = cli("session", "plan", "aaot", "--on", "2027-02-01T10:00", "--as", SAM, "--today", "2027-02-19")
    assert "not after today" in one_error_line(past, 2)
    member = cli("session", "plan", "aaot", "--on", "2027-04-01T10:00", "--as", LEE, "--today", "2027-02-19")
    one_error_line(member, 3)


def test_the_first_sessions_date_and_agenda_are_where_members_look(cli: CliRunner) -> None:
    launched(create())
    shown = ok(cli("community", "show", "aaot"))
    assert "  first session: 2027-01-14 14:00\n    - Welcome, and what this community of practice is for\n" in shown
    invitation = outbox("member-invitation")[0]
    assert "The first session's agenda:" in invitation.text_body
    assert "Choosing the first cases and topics to share" in invitation.html_body


def test_task_list_shows_every_task_with_the_overdue_marked(cli: CliRunner) -> None:
    active(create())
    ok(cli("task", "add", "aaot", "Book a room", "--due", "2027-02-01", "--as", CONVENOR, "--today", "2027-01-15"))
    ok(cli("task", "add", "aaot", "Invite a speaker", "--as", CONVENOR, "--today", "2027-01-15"))
    ok(cli("task", "add", "aaot", "Send notes", "--due", "2027-01-20", "--as", CONVENOR, "--today", "2027-01-15"))
    ok(cli("task", "done", "aaot", "3", "--as", CONVENOR, "--today", "2027-01-19"))
    lines = ok(cli("task", "list", "aaot", "--today", "2027-02-05")).splitlines()
    assert [line.split()[:2] for line in lines] == [["#1", "OVERDUE"], ["#2", "open"], ["#3", "done"]]
    assert "Book a room (" in lines[0] and "due 2027-02-01" in lines[0]
    tasks = json.loads(ok(cli("task", "list", "aaot", "--json", "--today", "2027-01-25")))
    assert [(t["id"], t["status"], t["overdue"]) for t in tasks] == [(1, "open", False), (2, "open", False),
                                                                     (3, "done", False)]
    assert tasks[2]["done_on"] == "2027-01-19"
    one_error_line(cli("task", "list", "nope"), 2)
