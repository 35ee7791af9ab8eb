"""Health rules from plain inputs: no database, no Prefect."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from models import health
from models.health import HealthInputs, assess, attendance_trend, people_doing_half
from models.lifecycle import Stage
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


def test_people_by_kind_counts_people_not_attendances() -> None:
    """As the sponsor reports count: someone who came to every recent session counts once."""
    seen = [SessionFacts(TODAY - timedelta(days=30 * i), ("practitioner", "researcher", "practitioner"),
                         attendee_ids=(1, 2, 3 + i)) for i in (2, 1, 0)]
    assert assess(replace(BASE, sessions=seen)).figures["people_by_kind"] == {
        "practitioner": 4, "researcher": 1}
    # Recorded without ids: each seat of a session counts (nothing says who came back).
    seats = [SessionFacts(TODAY, ("practitioner", "researcher", "practitioner"))]
    assert assess(replace(BASE, sessions=seats)).figures["people_by_kind"] == {
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


LAUNCHED = replace(BASE, stage=Stage.launching, sessions=[], launched_on=date(2027, 3, 1),
                   cadence=Cadence.monthly)


def test_a_launching_cop_that_never_met_is_a_signal_once_its_first_session_is_well_overdue() -> None:
    allowed = int(health.CADENCE_DAYS[Cadence.monthly] * health.CADENCE_GRACE)
    in_time = assess(replace(LAUNCHED, today=date(2027, 3, 1) + timedelta(days=allowed)))
    assert in_time.signals == [] and in_time.figures["stage"] == "launching"
    late = assess(replace(LAUNCHED, today=date(2027, 3, 1) + timedelta(days=allowed + 1)))
    assert late.attention == [health.LAUNCHED_NEVER_MET] and late.natural_end == []
    # A first session planned later than the launch is the day counted from.
    planned = replace(LAUNCHED, first_session=date(2027, 5, 1), today=date(2027, 4, 20))
    assert assess(planned).signals == []
    # Once it has met, it is active: the launching check says nothing more.
    met = replace(LAUNCHED, sessions=sessions(3), today=date(2027, 9, 1))
    assert assess(met).signals == []


def test_a_launching_cop_raises_only_the_launch_signal() -> None:
    """Rotation, volunteers and natural ends belong to an active CoP, not one yet to meet."""
    h = assess(replace(LAUNCHED, rotation_due=True, eligible_next=0, volunteers=0, work_done=True,
                       today=date(2027, 3, 2)))
    assert h.signals == []


def test_after_continue_natural_end_proposals_wait_three_sessions_or_sixty_days() -> None:
    low = replace(BASE, sessions=sessions(8, 2, 2, 2, every=10), continued_on=TODAY - timedelta(days=5))
    h = assess(low)
    assert h.natural_end == [health.ATTENDANCE_FALLEN_AWAY]  # still shown...
    assert h.quiet_until == TODAY + timedelta(days=55)  # ...but no proposal until then
    assert h.figures["proposals_quiet_until"] == str(TODAY + timedelta(days=55))
    # 60 days after the decision, the quiet ends even if the CoP has not met since.
    assert assess(replace(low, today=TODAY + timedelta(days=55))).quiet_until is None
    # Three sessions held after the decision end it sooner: there is new evidence to judge by.
    three = replace(low, continued_on=TODAY - timedelta(days=35))
    assert assess(three).quiet_until is None
    two = replace(low, continued_on=TODAY - timedelta(days=25))
    assert assess(two).quiet_until == TODAY + timedelta(days=35)
    assert assess(BASE).quiet_until is None  # never closed, never quiet
