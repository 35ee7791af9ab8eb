"""Health rules from plain inputs: no database, no Prefect."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from models import health
from models.health import HealthInputs, assess, attendance_trend, people_doing_half
from models.sessions import SessionFacts
from models.vocabulary import Cadence

TODAY = date(2027, 6, 1)


def sessions(*attended: int, every: int = 30) -> list[SessionFacts]:
    start = TODAY - timedelta(days=every * len(attended))
    return [SessionFacts(start + timedelta(days=every * i), ("practitioner",) * n)
            for i, n in enumerate(attended)]


BASE = HealthInputs(today=TODAY, cadence=Cadence.monthly, launched_on=date(2027, 1, 1),
                    sessions=sessions(8, 8, 9), members_now=10, planning_work={"A": 2, "B": 2, "C": 1},
                    volunteers=1, eligible_next=3, rotation_due=False, convenor_left=False,
                    planning_group_total=3, planning_group_left=0, work_done=False)


def test_a_healthy_cop_raises_nothing() -> None:
    h = assess(BASE)
    assert h.signals == []
    assert h.figures["cadence_kept"] is True and h.figures["attendance_trend"] == "steady"


def test_missed_cadence_and_falling_attendance_need_attention() -> None:
    h = assess(replace(BASE, sessions=sessions(10, 8, 6, every=30)[:3], today=TODAY + timedelta(days=60)))
    assert health.CADENCE_MISSED in h.attention and health.ATTENDANCE_FALLING in h.attention
    assert h.natural_end == []


def test_people_doing_half_the_planning() -> None:
    assert people_doing_half({}) is None
    assert people_doing_half({"A": 5, "B": 1, "C": 1}) == 1
    assert people_doing_half({"A": 2, "B": 2, "C": 2, "D": 2}) == 2
    h = assess(replace(BASE, planning_work={"A": 6, "B": 1}))
    assert health.PLANNING_CONCENTRATED in h.attention


def test_participation_by_kind_counts_recent_attendance() -> None:
    seen = [SessionFacts(TODAY, ("practitioner", "researcher", "practitioner"))]
    assert assess(replace(BASE, sessions=seen)).figures["participation_by_kind"] == {
        "practitioner": 2, "researcher": 1}


def test_trend() -> None:
    assert attendance_trend([5]) == "too few sessions"
    assert attendance_trend([10, 9, 7]) == "falling"
    assert attendance_trend([5, 5, 7]) == "rising"


def test_natural_end_signals() -> None:
    low = replace(BASE, sessions=sessions(8, 2, 2, 2))
    assert assess(low).natural_end == [health.ATTENDANCE_FALLEN_AWAY]
    assert assess(replace(BASE, sessions=sessions(2, 2, 8))).natural_end == []  # recovered
    gone = replace(BASE, convenor_left=True, planning_group_left=2)
    assert assess(gone).natural_end == [health.ENTHUSIASTS_LEFT]
    assert assess(replace(BASE, convenor_left=True, planning_group_left=1)).natural_end == []
    assert assess(replace(BASE, eligible_next=0)).natural_end == [health.NOBODY_TO_LEAD]
    assert assess(replace(BASE, work_done=True)).natural_end == [health.WORK_DONE]


def test_no_volunteers_is_raised_only_when_a_new_lead_is_needed() -> None:
    assert health.NO_VOLUNTEERS not in assess(replace(BASE, volunteers=0)).attention
    due = assess(replace(BASE, volunteers=0, rotation_due=True))
    assert due.attention == [health.ROTATION_DUE, health.NO_VOLUNTEERS]
