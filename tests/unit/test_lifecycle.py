"""The stage table, its guards and who may act (DESIGN section 2). Pure: no database."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from models.errors import BadInput, Refused
from models.lifecycle import (
    DEFAULT_NOTICE_DAYS,
    MAX_NOTICE_DAYS,
    TRANSITIONS,
    ArchiveReadiness,
    Role,
    Stage,
    missing_for_launch,
    notice_days,
    notice_end,
    require_may_decide,
    require_transition,
    require_writable,
)

ALLOWED = [
    (Stage.proposed, Stage.launching),
    (Stage.launching, Stage.active),
    (Stage.active, Stage.closing),
    (Stage.closing, Stage.active),
    (Stage.closing, Stage.archived),
    (Stage.proposed, Stage.archived),  # withdraw: a draft that never launched
    (Stage.launching, Stage.archived),  # withdraw: a CoP that launched and never met
]
REFUSED = [(a, b) for a in Stage for b in Stage if (a, b) not in ALLOWED]


def test_the_stage_table_is_exactly_the_design() -> None:
    assert set(TRANSITIONS) == set(ALLOWED)
    assert [s.value for s in Stage] == ["proposed", "launching", "active", "closing", "archived"]


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transitions_pass(current: Stage, target: Stage) -> None:
    assert require_transition(current, target, "aaot") == TRANSITIONS[(current, target)]


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_every_other_transition_is_refused(current: Stage, target: Stage) -> None:
    with pytest.raises(Refused) as caught:
        require_transition(current, target, "aaot")
    if current is Stage.archived:
        assert str(caught.value) == "aaot is archived and read-only"
    else:
        assert str(caught.value) == f"aaot is {current.value}; it cannot move to {target.value}"


def test_nothing_is_ever_deleted_there_is_no_way_back_to_proposed() -> None:
    assert not any(target is Stage.proposed for _, target in TRANSITIONS)


@pytest.mark.parametrize("stage", [s for s in Stage if s is not Stage.archived])
def test_every_stage_but_archived_can_be_written(stage: Stage) -> None:
    assert require_writable(stage, "aaot") is stage


def test_an_archived_cop_is_read_only() -> None:
    with pytest.raises(Refused, match="^aaot is archived and read-only$"):
        require_writable(Stage.archived, "aaot")


@pytest.mark.parametrize("role", [Role.convenor, Role.planning_group])
def test_the_convenor_and_planning_group_decide(role: Role) -> None:
    assert require_may_decide(role, "dana@example.org", "aaot") is role


@pytest.mark.parametrize(("role", "why"), [
    (Role.sponsor, "sponsors receive reports and never decide"),
    (Role.member, "only the convenor and planning group may do this"),
    (Role.former_member, "they have left this CoP"),
    (Role.stranger, "they are not part of this CoP"),
])
def test_everyone_else_is_refused(role: Role, why: str) -> None:
    with pytest.raises(Refused) as caught:
        require_may_decide(role, "x@example.org", "aaot")
    assert str(caught.value) == f"x@example.org may not act on aaot: {why}"


def test_every_role_is_either_a_decider_or_refused() -> None:
    deciders = set()
    for role in Role:
        try:
            require_may_decide(role, "x@example.org", "aaot")
            deciders.add(role)
        except Refused:
            pass
    assert deciders == {Role.convenor, Role.planning_group}


def test_notice_defaults_to_fourteen_days() -> None:
    assert DEFAULT_NOTICE_DAYS == 14
    assert notice_end(date(2027, 3, 1), None) == date(2027, 3, 15)


@pytest.mark.parametrize(("days", "ends"), [(0, date(2027, 3, 1)), (30, date(2027, 3, 31))])
def test_notice_can_be_chosen(days: int, ends: date) -> None:
    assert notice_end(date(2027, 3, 1), days) == ends


def test_negative_notice_is_bad_input_naming_the_option() -> None:
    with pytest.raises(BadInput, match="^--notice-days: -1 is negative"):
        notice_end(date(2027, 3, 1), -1)


def test_close_and_notice_end_share_one_notice_check() -> None:
    assert notice_days(None) == DEFAULT_NOTICE_DAYS and notice_days(MAX_NOTICE_DAYS) == MAX_NOTICE_DAYS
    with pytest.raises(BadInput, match="^--notice-days: -1 is negative"):
        notice_days(-1)
    with pytest.raises(BadInput, match=r"^--notice-days: at most 3650 \(ten years\)$"):
        notice_days(MAX_NOTICE_DAYS + 1)


def test_archive_waits_for_the_notice_period() -> None:
    with pytest.raises(Refused, match="notice period until 2027-03-15; use --now"):
        ArchiveReadiness(notice_over=False, forced=False).check("aaot", date(2027, 3, 15))


@pytest.mark.parametrize(("over", "forced"), [(True, False), (False, True), (True, True)])
def test_archive_proceeds_when_notice_is_over_or_asked_for_now(over: bool, forced: bool) -> None:
    cuts_notice_short = ArchiveReadiness(notice_over=over, forced=forced).check("aaot", date(2027, 3, 15))
    assert cuts_notice_short is (not over)


COMPLETE: dict[str, Any] = {"domain": "d", "practice": "p", "has_convenor": True, "sponsors": 1,
                            "members": 3, "cadence": "monthly"}


def test_a_complete_charter_may_launch() -> None:
    assert missing_for_launch(**COMPLETE) == []


@pytest.mark.parametrize(("change", "missing"), [
    ({"domain": None}, "domain"),
    ({"domain": ""}, "domain"),
    ({"practice": None}, "practice"),
    ({"has_convenor": False}, "convenor"),
    ({"sponsors": 0}, "at least one sponsor"),
    ({"members": 2}, "at least 3 members"),
    ({"members": 0}, "at least 3 members"),
    ({"cadence": None}, "cadence"),
])
def test_each_launch_guard_names_what_is_missing(change: dict[str, object], missing: str) -> None:
    assert missing_for_launch(**{**COMPLETE, **change}) == [missing]  # type: ignore[arg-type]
