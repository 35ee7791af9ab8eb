"""The portfolio's rules from plain facts: who carries more than one CoP, overdue work, reports."""

from __future__ import annotations

from datetime import date

from models.portfolio import (
    CONVENOR,
    PLANNING_GROUP,
    PLANNING_LEAD,
    Carrying,
    Load,
    days_in_stage,
    heavy_loads,
    next_report,
    overdue,
)
from models.vocabulary import ReportPeriod

TODAY = date(2027, 6, 1)


def test_people_carrying_planning_or_convening_in_more_than_one_cop_are_named() -> None:
    loads = heavy_loads([
        Carrying(1, "Dana", "aaot", CONVENOR), Carrying(1, "Dana", "beta", PLANNING_GROUP),
        Carrying(1, "Dana", "beta", PLANNING_LEAD), Carrying(1, "Dana", "gamma", CONVENOR),
        Carrying(2, "Sam", "aaot", PLANNING_GROUP), Carrying(2, "Sam", "aaot", PLANNING_LEAD),
        Carrying(3, "Lee", "beta", PLANNING_GROUP), Carrying(3, "Lee", "gamma", PLANNING_GROUP),
    ])
    assert loads == [
        Load("Dana", (("aaot", (CONVENOR,)), ("beta", (PLANNING_LEAD, PLANNING_GROUP)), ("gamma", (CONVENOR,)))),
        Load("Lee", (("beta", (PLANNING_GROUP,)), ("gamma", (PLANNING_GROUP,)))),
    ]  # Sam carries two roles in one CoP: that is not more than one CoP
    assert heavy_loads([]) == []


def test_overdue_tasks_are_those_due_before_today() -> None:
    assert overdue([date(2027, 5, 31), TODAY, None, date(2027, 7, 1), date(2027, 1, 1)], TODAY) == 2


def test_days_in_stage() -> None:
    assert days_in_stage(date(2027, 5, 1), TODAY) == 31
    assert days_in_stage(date(2027, 7, 1), TODAY) == 0  # a replay dated before a later change


def test_the_next_report_is_the_first_unreported_ended_period_else_the_next_due() -> None:
    owed = next_report(date(2027, 1, 14), ReportPeriod.quarterly, TODAY, set())
    assert [p.label for p in owed.due_now] == ["January to March 2027"]
    assert owed.next_period.label == "April to June 2027" and owed.due_on == date(2027, 7, 1)
    sent = next_report(date(2027, 1, 14), ReportPeriod.quarterly, TODAY, {date(2027, 1, 1)})
    assert sent.due_now == ()
