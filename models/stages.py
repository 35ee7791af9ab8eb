"""Which stage allows which action (DESIGN section 2), one guard per action.

A use case loads the CoP, asks the guard here, then writes. Each guard returns what the rule
decided (the stage to move to, when the action moves one) or refuses with one clear line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta

from models.errors import BadInput, Refused
from models.lifecycle import ArchiveReadiness, Stage

# Sessions are held, and sponsors hear of the CoP, from launch until it is archived.
SESSION_STAGES = frozenset({Stage.launching, Stage.active, Stage.closing})
REPORTING_STAGES = frozenset({Stage.launching, Stage.active, Stage.closing})
# Only an active CoP rotates its planning lead. Health checks an active CoP, and a launching one
# for the one signal it can give: launched, never met (withdraw is then the way to end it).
ROTATION_STAGES = frozenset({Stage.active})
HEALTH_STAGES = frozenset({Stage.launching, Stage.active})
LAUNCHES_FROM = Stage.proposed  # the only stage whose charter gaps matter


def values(stages: Iterable[Stage]) -> list[str]:
    """The stages as stored, for a query's `IN (...)`."""
    return sorted(s.value for s in stages)


def require_launch(stage: Stage, slug: str, missing: Callable[[], Sequence[str]]) -> Stage:
    """missing: what the charter lacks, asked only once the stage allows a launch."""
    if stage is Stage.launching:
        # A repeated launch (a retry, a double click) is refused and sends nothing again.
        raise Refused(f"{slug} is already launching; the invitations went out then")
    if stage is not LAUNCHES_FROM:
        raise Refused(f"{slug} is {stage.value}; only a proposed CoP can be launched")
    gaps = missing()
    if gaps:
        raise Refused(f"{slug} cannot launch yet: the charter needs {', '.join(gaps)}")
    return Stage.launching


def require_close(stage: Stage, slug: str, notice_ends_on: date | None) -> Stage:
    if stage is Stage.closing:
        raise Refused(f"{slug} is already closing (notice ends {notice_ends_on})")
    if stage is not Stage.active:
        raise Refused(f"{slug} is {stage.value}; only an active CoP can close")
    return Stage.closing


def close_reason(reason: str | None) -> str:
    """The reason a CoP closes, trimmed; there must be one."""
    if not reason or not reason.strip():
        raise BadInput("--reason: say why the CoP is closing")
    return reason.strip()


def require_other_cop(slug: str, successor: str) -> str:
    if successor == slug:
        raise BadInput("--successor: a CoP cannot succeed itself")
    return successor


def require_successor_open(successor: str, stage: Stage) -> Stage:
    """A successor carries the work on, so it must not itself be ending."""
    if stage in (Stage.closing, Stage.archived):
        raise BadInput(f"--successor: {successor} is {stage.value}")
    return stage


def require_continue(stage: Stage, slug: str) -> Stage:
    if stage is not Stage.closing:
        raise Refused(f"{slug} is {stage.value}; only a closing CoP can continue")
    return Stage.active


def require_work_done_mark(stage: Stage, slug: str, work_done: bool) -> bool:
    """Marking the work done is a natural-end signal for an active CoP, given once."""
    if stage is not Stage.active:
        raise Refused(f"{slug} is {stage.value}; only an active CoP's work can be marked done")
    if work_done:
        raise Refused(f"{slug}'s work is already marked done")
    return True


def require_rotation(stage: Stage, slug: str) -> Stage:
    if stage not in ROTATION_STAGES:
        raise Refused(f"{slug} is {stage.value}; the planning lead rotates only while it is active")
    return stage


def notice_over(notice_ends_on: date | None, today: date) -> bool:
    return notice_ends_on is not None and today >= notice_ends_on


def archive_due(stage: Stage, notice_ends_on: date | None, today: date) -> bool:
    """What the schedule archives: a closing CoP whose notice period has ended."""
    return stage is Stage.closing and notice_over(notice_ends_on, today)


def require_archive(stage: Stage, slug: str, *, notice_ends_on: date | None, today: date,
                    now: bool) -> Stage:
    if stage is not Stage.closing:
        raise Refused(f"{slug} is {stage.value}; only a closing CoP can be archived")
    ArchiveReadiness(notice_over=notice_over(notice_ends_on, today), forced=now).check(slug, notice_ends_on)
    return Stage.archived


def require_health_check(stage: Stage, slug: str) -> Stage:
    if stage not in HEALTH_STAGES:
        raise Refused(f"{slug} is {stage.value}; health checks cover launching and active CoPs")
    return stage


def require_session(stage: Stage, slug: str) -> Stage | None:
    """Whether a session may be recorded; the stage it moves the CoP to (the first session
    held makes a launching CoP active), or None when the stage stays."""
    if stage not in SESSION_STAGES:
        raise Refused(f"{slug} is {stage.value}; launch it before recording sessions")
    return after_session(stage)


def after_session(stage: Stage) -> Stage | None:
    """The stage a session held moves the CoP to, or None when it stays."""
    return Stage.active if stage is Stage.launching else None


def require_held(held_on: date, today: date) -> date:
    if held_on > today:
        raise BadInput(f"--on: {held_on} is after today ({today}); record a session once it is held")
    return held_on


def erasure_due(stage: Stage, archived_on: date | None, today: date, retention_days: int) -> bool:
    """Contact details may go once a CoP has been archived for the retention period."""
    return stage is Stage.archived and archived_on is not None and \
        archived_on <= today - timedelta(days=retention_days)


WITHDRAWS_FROM = frozenset({Stage.proposed, Stage.launching})  # it never met: nothing to close


def require_withdraw(stage: Stage, slug: str) -> Stage:
    """A draft that never launched, or a CoP that launched and never met, is withdrawn."""
    if stage not in WITHDRAWS_FROM:
        raise Refused(f"{slug} is {stage.value}; only a proposed or launching CoP can be withdrawn "
                      "(an active CoP closes instead)")
    return Stage.archived


def withdraw_reason(reason: str | None) -> str:
    """Why the CoP is withdrawn, trimmed; there must be one."""
    if not reason or not reason.strip():
        raise BadInput("--reason: say why the CoP is withdrawn")
    return reason.strip()


def hands_over_on_step_down(stage: Stage) -> bool:
    """While the CoP holds sessions it has a planning lead: one who steps down is followed at once."""
    return stage in SESSION_STAGES


def was_withdrawn(stage: Stage, closing_since: date | None) -> bool:
    """An archived CoP that never went through closing was withdrawn (it never met)."""
    return stage is Stage.archived and closing_since is None
