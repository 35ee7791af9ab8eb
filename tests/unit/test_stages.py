"""Which stage allows which action, and a member's own rules (models/stages.py,
models/membership.py). Pure: no database."""

from __future__ import annotations

from datetime import date

import pytest

from models.errors import BadInput, Refused
from models.lifecycle import TRANSITIONS, Stage
from models.membership import (
    require_may_leave,
    require_not_sponsor,
    require_task_open,
    require_task_owner,
)
from models.stages import (
    HEALTH_STAGES,
    REPORTING_STAGES,
    ROTATION_STAGES,
    SESSION_STAGES,
    after_session,
    archive_due,
    close_reason,
    require_archive,
    require_close,
    require_continue,
    require_health_check,
    require_held,
    require_launch,
    require_other_cop,
    require_rotation,
    require_session,
    require_successor_open,
    require_withdraw,
    require_work_done_mark,
    values,
)

DAY = date(2027, 3, 1)


def others(*allowed: Stage) -> list[Stage]:
    return [s for s in Stage if s not in allowed]


def test_each_guard_moves_only_along_the_stage_table() -> None:
    moves = {
        (Stage.proposed, require_launch(Stage.proposed, "aaot", list)),
        (Stage.active, require_close(Stage.active, "aaot", None)),
        (Stage.closing, require_continue(Stage.closing, "aaot")),
        (Stage.closing, require_archive(Stage.closing, "aaot", notice_ends_on=DAY, today=DAY, now=False)),
        (Stage.launching, after_session(Stage.launching)),
        (Stage.proposed, require_withdraw(Stage.proposed, "aaot")),
        (Stage.launching, require_withdraw(Stage.launching, "aaot")),
    }
    assert moves == set(TRANSITIONS)


def test_a_launch_is_refused_once_launching_and_names_what_the_charter_lacks() -> None:
    with pytest.raises(Refused, match="^aaot is already launching; the invitations went out then$"):
        require_launch(Stage.launching, "aaot", list)
    with pytest.raises(Refused, match="^aaot cannot launch yet: the charter needs domain, cadence$"):
        require_launch(Stage.proposed, "aaot", lambda: ["domain", "cadence"])


@pytest.mark.parametrize("stage", [Stage.active, Stage.closing, Stage.archived])
def test_only_a_proposed_cop_launches(stage: Stage) -> None:
    with pytest.raises(Refused, match=f"^aaot is {stage.value}; only a proposed CoP can be launched$"):
        require_launch(stage, "aaot", lambda: pytest.fail("gaps asked for a CoP that cannot launch"))


def test_close_needs_an_active_cop_and_a_reason() -> None:
    with pytest.raises(Refused, match=r"^aaot is already closing \(notice ends 2027-03-01\)$"):
        require_close(Stage.closing, "aaot", DAY)
    for stage in others(Stage.active, Stage.closing):
        with pytest.raises(Refused, match=f"^aaot is {stage.value}; only an active CoP can close$"):
            require_close(stage, "aaot", None)
    assert close_reason("  the work is done ") == "the work is done"
    for blank in ("", "   ", None):
        with pytest.raises(BadInput, match="^--reason: say why the CoP is closing$"):
            close_reason(blank)


def test_a_successor_is_another_cop_that_is_not_ending() -> None:
    assert require_other_cop("aaot", "next") == "next"
    with pytest.raises(BadInput, match="^--successor: a CoP cannot succeed itself$"):
        require_other_cop("aaot", "aaot")
    assert require_successor_open("next", Stage.proposed) is Stage.proposed
    for stage in (Stage.closing, Stage.archived):
        with pytest.raises(BadInput, match=f"^--successor: next is {stage.value}$"):
            require_successor_open("next", stage)


@pytest.mark.parametrize("stage", others(Stage.closing))
def test_only_a_closing_cop_continues_or_is_archived(stage: Stage) -> None:
    with pytest.raises(Refused, match=f"^aaot is {stage.value}; only a closing CoP can continue$"):
        require_continue(stage, "aaot")
    with pytest.raises(Refused, match=f"^aaot is {stage.value}; only a closing CoP can be archived$"):
        require_archive(stage, "aaot", notice_ends_on=DAY, today=DAY, now=True)


def test_archive_waits_for_the_notice_unless_asked_to_go_now() -> None:
    with pytest.raises(Refused, match="notice period until 2027-03-01; use --now"):
        require_archive(Stage.closing, "aaot", notice_ends_on=DAY, today=date(2027, 2, 28), now=False)
    assert require_archive(Stage.closing, "aaot", notice_ends_on=DAY, today=date(2027, 2, 28),
                           now=True) is Stage.archived


@pytest.mark.parametrize(("stage", "today", "due"), [
    (Stage.closing, date(2027, 2, 28), False),
    (Stage.closing, DAY, True),
    (Stage.active, DAY, False),
    (Stage.archived, date(2027, 4, 1), False),
])
def test_the_schedule_archives_a_closing_cop_once_its_notice_is_over(stage: Stage, today: date,
                                                                     due: bool) -> None:
    assert archive_due(stage, DAY, today) is due
    assert archive_due(Stage.closing, None, today) is False  # no notice date: never by schedule


def test_only_an_active_cop_rotates_and_a_launching_or_active_one_is_health_checked() -> None:
    assert {Stage.active} == ROTATION_STAGES
    assert {Stage.launching, Stage.active} == HEALTH_STAGES  # launched, never met is a signal
    assert require_rotation(Stage.active, "aaot") is Stage.active
    for stage in HEALTH_STAGES:
        assert require_health_check(stage, "aaot") is stage
    for stage in others(Stage.active):
        with pytest.raises(Refused, match=f"^aaot is {stage.value}; the planning lead rotates only"):
            require_rotation(stage, "aaot")
    for stage in (Stage.proposed, Stage.closing, Stage.archived):
        with pytest.raises(Refused, match=f"^aaot is {stage.value}; health checks cover launching and active CoPs$"):
            require_health_check(stage, "aaot")


def test_work_is_marked_done_once_while_active() -> None:
    assert require_work_done_mark(Stage.active, "aaot", work_done=False) is True
    with pytest.raises(Refused, match="^aaot's work is already marked done$"):
        require_work_done_mark(Stage.active, "aaot", work_done=True)
    with pytest.raises(Refused, match="^aaot is closing; only an active CoP's work can be marked done$"):
        require_work_done_mark(Stage.closing, "aaot", work_done=False)


def test_sessions_are_held_from_launch_until_archived_and_the_first_makes_it_active() -> None:
    assert SESSION_STAGES == REPORTING_STAGES == {Stage.launching, Stage.active, Stage.closing}
    assert require_session(Stage.launching, "aaot") is Stage.active
    assert require_session(Stage.active, "aaot") is None
    assert require_session(Stage.closing, "aaot") is None
    for stage in (Stage.proposed, Stage.archived):
        with pytest.raises(Refused, match=f"^aaot is {stage.value}; launch it before recording sessions$"):
            require_session(stage, "aaot")


def test_a_session_is_recorded_once_it_is_held() -> None:
    assert require_held(DAY, DAY) == DAY
    with pytest.raises(BadInput, match=r"^--on: 2027-03-02 is after today \(2027-03-01\)"):
        require_held(date(2027, 3, 2), DAY)


def test_stage_sets_are_given_to_queries_as_stored() -> None:
    assert values(SESSION_STAGES) == ["active", "closing", "launching"]


def test_sponsors_stay_outside_and_never_lead() -> None:
    assert require_not_sponsor(False, "lee@example.org", "aaot") == "lee@example.org"
    with pytest.raises(Refused, match="^p@example.org is a sponsor of aaot; sponsors are kept outside"):
        require_not_sponsor(True, "p@example.org", "aaot")
    with pytest.raises(Refused, match="^p@example.org is a sponsor of aaot; sponsors never lead planning$"):
        require_not_sponsor(True, "p@example.org", "aaot", to_lead=True)


def test_the_convenor_cannot_leave() -> None:
    assert require_may_leave(False, "lee@example.org", "aaot") == "lee@example.org"
    with pytest.raises(Refused, match="^d@example.org is the convenor of aaot; the convenor cannot leave$"):
        require_may_leave(True, "d@example.org", "aaot")


def test_a_task_needs_an_owner_and_is_done_once() -> None:
    assert require_task_owner(True, "aaot") is True
    with pytest.raises(Refused, match="^aaot has no planning lead or convenor to own the task$"):
        require_task_owner(False, "aaot")
    assert require_task_open(7, "open") == "open"
    with pytest.raises(Refused, match="^task 7 is already done$"):
        require_task_open(7, "done")


def test_contact_details_go_only_after_the_retention_period_of_an_archived_cop() -> None:
    from models.stages import erasure_due

    archived = date(2027, 6, 1)
    assert erasure_due(Stage.archived, archived, date(2027, 8, 30), 90) is True
    assert erasure_due(Stage.archived, archived, date(2027, 8, 29), 90) is False
    assert erasure_due(Stage.closing, archived, date(2030, 1, 1), 90) is False
    assert erasure_due(Stage.archived, None, date(2030, 1, 1), 90) is False
