"""Report periods and the figures of a period: pure rules, no database."""

from __future__ import annotations

from datetime import date

import pytest

from models.reporting import (
    Period,
    PlanningChange,
    SessionFacts,
    due_periods,
    figures,
    next_due,
    period_containing,
    shared_stories,
)
from models.stories import Consent, StoryFacts
from models.vocabulary import ReportPeriod

Q, M = ReportPeriod.quarterly, ReportPeriod.monthly


def test_quarters_and_months_are_calendar_periods() -> None:
    assert period_containing(date(2027, 2, 14), Q) == Period(date(2027, 1, 1), date(2027, 3, 31))
    assert period_containing(date(2027, 12, 31), Q) == Period(date(2027, 10, 1), date(2027, 12, 31))
    assert period_containing(date(2028, 2, 14), M) == Period(date(2028, 2, 1), date(2028, 2, 29))
    assert Period(date(2027, 1, 1), date(2027, 3, 31)).label == "January to March 2027"
    assert Period(date(2027, 12, 1), date(2027, 12, 31)).label == "December 2027"
    assert Period(date(2027, 4, 1), date(2027, 5, 20)).label == "1 April 2027 to 20 May 2027"


def test_a_period_is_due_the_day_after_it_ends_and_not_before() -> None:
    launched = date(2027, 2, 14)
    assert due_periods(launched, Q, date(2027, 3, 31)) == []
    assert due_periods(launched, Q, date(2027, 4, 1)) == [Period(date(2027, 1, 1), date(2027, 3, 31))]
    assert next_due(launched, Q, date(2027, 4, 1)) == (Period(date(2027, 4, 1), date(2027, 6, 30)),
                                                       date(2027, 7, 1))


def test_reported_periods_are_not_due_again_and_missed_ones_catch_up() -> None:
    launched = date(2027, 1, 10)
    due = due_periods(launched, M, date(2027, 5, 2), reported={date(2027, 1, 1), date(2027, 3, 1)})
    assert [p.start for p in due] == [date(2027, 2, 1), date(2027, 4, 1)]


def _session(day: date, ids: tuple[int, ...], kinds: tuple[str, ...], **kw: object) -> SessionFacts:
    return SessionFacts(held_on=day, attendee_ids=ids, attendee_kinds=kinds, **kw)  # type: ignore[arg-type]


def test_figures_count_people_once_by_kind_and_keep_earlier_sessions_for_the_trend() -> None:
    q2 = Period(date(2027, 4, 1), date(2027, 6, 30))
    sessions = [
        _session(date(2027, 3, 10), (1, 2), ("convenor", "practitioner"), topics=("old",)),
        _session(date(2027, 4, 8), (1, 2, 3), ("convenor", "practitioner", "researcher"),
                 topics=("Home detox", "Case A"), methods=("Case review",)),
        _session(date(2027, 5, 13), (2, 3, 4), ("practitioner", "researcher", "expert-by-experience"),
                 topics=("Case A",), outputs=("Checklist",), format="hybrid"),
        _session(date(2027, 7, 8), (1,), ("convenor",)),  # after the period: not counted
    ]
    told = [StoryFacts(1, date(2027, 4, 8), date(2027, 4, 8), "We changed triage", Consent.named)]
    f = figures(q2, sessions, members_now=6, stories=shared_stories(q2, told, [], "[name]"), changes=[
        PlanningChange(on=date(2027, 5, 1), event="took-lead", who="Sam"),
        PlanningChange(on=date(2027, 1, 1), event="joined", who="earlier")])
    assert (f.sessions, f.attendances, f.people, f.average_attendance) == (2, 6, 4, 3.0)
    assert [(k.kind, k.people) for k in f.by_kind] == [
        ("practitioner", 1), ("expert-by-experience", 1), ("researcher", 1), ("convenor", 1)]
    assert f.topics == ["Home detox", "Case A"] and f.outputs == ["Checklist"]
    assert f.methods == ["Case review"] and [s.text for s in f.stories] == ["We changed triage"]
    assert [(c.event, c.who) for c in f.planning_changes] == [("took-lead", "Sam")]
    assert [(b.held_on.month, b.attended, b.in_period) for b in f.trend] == [
        (3, 2, False), (4, 3, True), (5, 3, True)]
    assert f.trend_max == 3 and f.formats == {"online": 1, "hybrid": 1}
    assert (f.life_sessions, f.life_attendances, f.life_people) == (3, 8, 4)


def test_an_empty_period_has_no_average() -> None:
    f = figures(Period(date(2027, 1, 1), date(2027, 3, 31)), [], members_now=4)
    assert f.sessions == 0 and f.average_attendance is None and f.trend == []


# --- a word of context, and what comes next ----------------------------------------------------

def _bars(*counts: int, inside_from: int) -> list:
    from models.reporting import Bar

    return [Bar(held_on=date(2027, 1 + i, 10), attended=n, in_period=i >= inside_from) for i, n in enumerate(counts)]


@pytest.mark.parametrize(("counts", "inside_from", "expected"), [
    ((9, 12, 11, 8, 4, 4), 3, (12, date(2027, 2, 10), 4, date(2027, 6, 10))),  # the demo's summer
    ((9, 12, 12, 8, 4), 3, (12, date(2027, 3, 10), 4, date(2027, 5, 10))),  # the latest high
    ((9, 10, 11, 8, 6), 3, None),  # a dip, not a fall by half
    ((4, 3, 2, 1), 2, None),  # half, but only a few people: no story to tell
    ((12,), 0, None),  # nothing before it to fall from
])
def test_a_big_fall_in_attendance_is_named_with_its_ends(counts, inside_from, expected) -> None:
    from models.reporting import attendance_fall

    fall = attendance_fall(_bars(*counts, inside_from=inside_from))
    got = (fall.high, fall.high_on, fall.low, fall.low_on) if fall else None
    assert got == expected


def test_a_fall_says_when_the_health_check_first_noticed_it() -> None:
    from models.reporting import attendance_fall

    bars = _bars(9, 12, 11, 8, 4, 4, inside_from=3)
    noticed = [date(2027, 1, 20), date(2027, 5, 1), date(2027, 4, 1)]  # before the high: not this fall
    assert attendance_fall(bars, noticed).noticed_on == date(2027, 4, 1)


@pytest.mark.parametrize(("planned", "last", "cadence", "today", "expected"), [
    (date(2027, 1, 14), None, "monthly", date(2027, 1, 1), (date(2027, 1, 14), True)),  # set, to come
    (date(2027, 1, 14), date(2027, 9, 9), "monthly", date(2027, 10, 1), (date(2027, 10, 9), False)),
    (None, date(2027, 1, 31), "monthly", date(2027, 2, 1), (date(2027, 2, 28), False)),  # a short month
    (None, date(2027, 1, 10), "fortnightly", date(2027, 1, 12), (date(2027, 1, 24), False)),
    (None, date(2027, 1, 10), "quarterly", date(2027, 1, 12), (date(2027, 4, 10), False)),
    (None, date(2027, 1, 10), "monthly", date(2027, 3, 1), (None, False)),  # overdue: no guess
    (None, None, "monthly", date(2027, 3, 1), (None, False)),
])
def test_the_next_session_is_the_date_set_or_where_the_cadence_points(planned, last, cadence, today,
                                                                       expected) -> None:
    from models.reporting import next_session

    assert next_session(planned, last, cadence, today) == expected


def test_guests_count_in_attendance_without_being_anyone() -> None:
    q1 = Period(date(2027, 1, 1), date(2027, 3, 31))
    sessions = [_session(date(2027, 1, 14), (1, 2), ("convenor", "practitioner"), guests=3),
                _session(date(2027, 2, 11), (1, 2), ("convenor", "practitioner"))]
    f = figures(q1, sessions, members_now=5)
    assert (f.sessions, f.attendances, f.guests, f.average_attendance) == (2, 7, 3, 3.5)
    assert f.people == 5  # two members, and three guests who cannot be told apart
    assert ("guest", 3) in [(k.kind, k.people) for k in f.by_kind]
    assert [b.attended for b in f.trend] == [5, 2] and f.trend_max == 5


def test_a_report_shares_each_story_once_as_its_consent_allows() -> None:
    q1, q2 = Period(date(2027, 1, 1), date(2027, 3, 31)), Period(date(2027, 4, 1), date(2027, 6, 30))
    names = ["Lee Hart", "Niamh O'Neill"]
    told = [
        StoryFacts(1, date(2027, 1, 14), date(2027, 1, 14), "Lee Hart said we now phone first", Consent.named,
                   teller="Lee Hart"),
        StoryFacts(2, date(2027, 1, 14), date(2027, 1, 14), "Niamh's family felt included; ask NIAMH", Consent.anonymous,
                   teller="Niamh O'Neill"),
        StoryFacts(3, date(2027, 2, 11), date(2027, 2, 11), "Lee told us about his relapse", Consent.private),
        # Told in March, surfaced in April, after the first quarter's report: the next one has it.
        StoryFacts(4, date(2027, 3, 11), date(2027, 4, 20), "Two teams changed their letters", Consent.named),
    ]
    first = shared_stories(q1, told, names, "[name withheld]")
    assert [(s.story_id, s.text, s.teller) for s in first] == [
        (1, "Lee Hart said we now phone first", "Lee Hart"),
        (2, "[name withheld]'s family felt included; ask [name withheld]", None)]
    assert [s.story_id for s in shared_stories(q2, told, names, "[name withheld]")] == [4]
    # Figures stored before stories had a consent are not shared again.
    old = figures(q1, [], members_now=3).model_dump(mode="json")
    old["stories"] = [{"held_on": "2027-01-14", "text": "Lee's relapse"}]
    from models.reporting import ReportFigures
    assert ReportFigures.model_validate(old).stories == []
