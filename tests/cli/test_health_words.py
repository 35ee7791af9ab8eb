"""`copflow health` speaks in sentences a convenor reads: never None, True, False or a dict."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import select

from models.health import NATURAL_END, HealthInputs, assess
from models.sessions import SessionFacts
from models.vocabulary import Cadence
from tasks.rendering import render
from tests.conftest import CliRunner

RAW = ("None", "True", "False", "{", "}", "[", "]")
TODAY = date(2027, 6, 1)


def _words(**over: object) -> str:
    inputs = HealthInputs(today=TODAY, cadence=None, launched_on=None, sessions=[], members_now=4,
                          planning_work={}, volunteers=0, eligible_next=2, rotation_due=False,
                          convenor_left=False, planning_group_total=1, planning_group_left=0,
                          work_done=False)
    health = assess(HealthInputs(**{**inputs.__dict__, **over}))  # type: ignore[arg-type]
    return render("cli/health.txt", slug="aaot", signals=health.signals, natural_end=NATURAL_END,
                  figures=health.figures, checked_on=str(TODAY))


def test_a_cop_with_no_sessions_no_tasks_and_no_cadence_reads_as_not_yet_known() -> None:
    text = _words()
    assert not [raw for raw in RAW if raw in text], text
    assert text.splitlines() == [
        "aaot: all well (checked on 1 June 2027)",
        "  Sessions: none held yet",
        "  Cadence: not yet known (no cadence agreed)",
        "  Attendance: no session held yet",
        "  Planning work: no planning tasks done yet",
        ("  Leading planning: the current lead carries on for now; nobody has volunteered; "
         "2 people could lead next"),
    ]


@pytest.mark.parametrize(("over", "line"), [
    ({"cadence": Cadence.monthly}, "  Cadence: not yet known (no session held)"),
    ({"cadence": Cadence.monthly, "launched_on": date(2027, 5, 20)},
     "  Cadence: kept (monthly; no session held yet)"),
    ({"cadence": Cadence.monthly, "sessions": [SessionFacts(date(2027, 5, 14), ("convenor", "researcher"))]},
     "  Cadence: kept (monthly; last session 14 May 2027)"),
    ({"cadence": Cadence.weekly, "sessions": [SessionFacts(date(2027, 1, 14), ("convenor",))]},
     "  Cadence: missed (weekly; last session 14 January 2027)"),
    ({"planning_work": {"Sam": 5, "Ana": 1}}, "  Planning work: 6 tasks done; half of it done by 1 person"),
    ({"planning_work": {"Sam": 1, "Ana": 1, "Lee": 1}},
     "  Planning work: 3 tasks done; half of it done by 2 people"),
    ({"sessions": [SessionFacts(date(2027, 5, d), ("practitioner",) * n + ("convenor",))
                   for d, n in ((1, 6), (8, 4), (15, 2))]},
     "  Attendance: 7, 5, 3 at the last 3 sessions (falling)"),
    ({"sessions": [SessionFacts(date(2027, 5, d), ("practitioner",) * n + ("convenor",),
                                attendee_ids=(*range(1, n + 1), 99))
                   for d, n in ((1, 6), (8, 4), (15, 2))]},
     "  People who came to the last 3 sessions, each counted once: Practitioners 6, Convenor 1"),
    ({"sessions": [SessionFacts(date(2027, 5, d), ("practitioner",) * n + ("convenor",))
                   for d, n in ((1, 6), (8, 4), (15, 2))]},
     "  Something to try: ask two or three members what would make the sessions worth their time: "
     "a different time, length or format"),
    ({"continued_on": date(2027, 5, 20), "work_done": True},
     "  The members decided to continue on 20 May 2027: no close is proposed before 19 July 2027, "
     "or sooner once three more sessions have been held."),
    ({"rotation_due": True, "volunteers": 1, "eligible_next": 1},
     "  Leading planning: a new lead is due; 1 volunteer; 1 person could lead next"),
])
def test_each_figure_reads_as_a_sentence(over: dict[str, object], line: str) -> None:
    text = _words(**over)
    assert line in text.splitlines(), text
    assert not [raw for raw in RAW if raw in text], text


def test_signals_read_as_what_they_mean_and_natural_end_is_named_as_such() -> None:
    text = _words(rotation_due=True, eligible_next=0, work_done=True)
    assert text.splitlines()[:4] == [
        "aaot: signs of a natural end (checked on 1 June 2027)",
        "  - the planning lead is due to change",
        "  - a sign of a natural end: nobody else is able to lead planning",
        "  - a sign of a natural end: the convenor or planning group has said the work is done",
    ]
    assert "rotation-due" not in text and "work-done" not in text


def test_the_health_command_and_the_stored_check_speak_the_same_sentences(
        cli: CliRunner, aaot: str, set_stage: Callable[[str, str], None]) -> None:
    """Through the real command: an active CoP with no sessions, no tasks and no agreed cadence."""
    from models.db.tables import Community
    from tasks.storage.db import session_scope

    set_stage(aaot, "active")
    with session_scope() as db:
        db.scalars(select(Community).where(Community.slug == aaot)).one().cadence = None
    done = cli("health", aaot, "--today", "2027-02-01")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert not [raw for raw in RAW if raw in done.stdout], done.stdout
    assert lines[0] == f"{aaot}: needs attention"
    assert "  - the planning lead is due to change" in lines
    for line in ("  Sessions: none held yet", "  Cadence: not yet known (no cadence agreed)",
                 "  Attendance: no session held yet", "  Planning work: no planning tasks done yet"):
        assert line in lines, done.stdout
    stored = cli("health", aaot, "--stored")
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout.splitlines()[0] == f"{aaot}: needs attention (checked on 1 February 2027)"
    assert stored.stdout.splitlines()[1:] == lines[1:-1]  # the same sentences, less the email line
