"""Health of an active CoP (DESIGN section 3): figures and signals from plain inputs.

No I/O: tasks/ gathers the inputs, these rules turn them into figures, signals that need
the convenor's attention, and the natural-end signals that lead to a close *proposal*.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

# How many days may pass between sessions before the cadence counts as missed.
CADENCE_DAYS: Mapping[str, int] = {"weekly": 7, "fortnightly": 14, "monthly": 31, "quarterly": 92}
CADENCE_GRACE = 1.5  # a session a little late is still on cadence
TREND_SESSIONS = 4  # the attendance trend looks at this many recent sessions
TREND_CHANGE = 0.2  # a change of a fifth or more between first and last counts as a trend
LOW_ATTENDANCE_SHARE = 0.3  # natural end: fewer than this share of members came...
LOW_ATTENDANCE_SESSIONS = 3  # ...at each of this many recent sessions
CONCENTRATED_MIN_TASKS = 4  # below this much planning work, concentration is not a signal

# Signals for the convenor's attention (a nudge).
CADENCE_MISSED = "cadence-missed"
ATTENDANCE_FALLING = "attendance-falling"
ROTATION_DUE = "rotation-due"
NO_VOLUNTEERS = "no-volunteers"
PLANNING_CONCENTRATED = "planning-concentrated"
# Natural-end signals (a close proposal to the convenor and planning group).
ATTENDANCE_FALLEN_AWAY = "attendance-fallen-away"
ENTHUSIASTS_LEFT = "convenor-and-planning-group-left"
NOBODY_TO_LEAD = "nobody-eligible-to-lead"
WORK_DONE = "work-done"
NATURAL_END = (ATTENDANCE_FALLEN_AWAY, ENTHUSIASTS_LEFT, NOBODY_TO_LEAD, WORK_DONE)


@dataclass(frozen=True)
class SessionSeen:
    held_on: date
    attended: int
    members_then: int  # current members when the check runs; the best denominator we keep
    kinds: Sequence[str] = ()  # member kind of each attendee ("convenor" for the convenor)


@dataclass(frozen=True)
class HealthInputs:
    today: date
    cadence: str | None
    launched_on: date | None
    sessions: Sequence[SessionSeen]  # oldest first
    planning_work: Mapping[str, int]  # person -> planning tasks done
    volunteers: int  # members who volunteered to lead next, not opted out
    eligible_next: int  # people the rota could pick next (excluding the current lead)
    rotation_due: bool
    convenor_left: bool
    planning_group_total: int  # everyone who was ever on the planning group (not the convenor)
    planning_group_left: int
    work_done: bool


@dataclass
class Health:
    figures: dict[str, Any] = field(default_factory=dict)
    attention: list[str] = field(default_factory=list)
    natural_end: list[str] = field(default_factory=list)

    @property
    def signals(self) -> list[str]:
        return [*self.attention, *self.natural_end]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cadence_kept(today: date, cadence: str | None, last_held: date | None, launched_on: date | None) -> bool | None:
    """True when the last session (or launch) is within the cadence, with some grace."""
    if cadence is None or cadence not in CADENCE_DAYS:
        return None
    since = last_held or launched_on
    if since is None:
        return None
    return (today - since).days <= CADENCE_DAYS[cadence] * CADENCE_GRACE


def attendance_trend(counts: Sequence[int]) -> str:
    """rising, steady or falling over the recent sessions; 'too few sessions' below two."""
    if len(counts) < 2:
        return "too few sessions"
    first, last = counts[0], counts[-1]
    if first == 0:
        return "rising" if last > 0 else "steady"
    change = (last - first) / first
    if change <= -TREND_CHANGE:
        return "falling"
    if change >= TREND_CHANGE:
        return "rising"
    return "steady"


def people_doing_half(work: Mapping[str, int]) -> int | None:
    """The smallest number of people who did half of the planning work (None: no work yet)."""
    total = sum(work.values())
    if total == 0:
        return None
    done, people = 0, 0
    for amount in sorted(work.values(), reverse=True):
        done += amount
        people += 1
        if done * 2 >= total:
            return people
    return people


def participation_by_kind(sessions: Sequence[SessionSeen]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for s in sessions:
        counts.update(s.kinds)
    return dict(sorted(counts.items()))


def assess(inputs: HealthInputs) -> Health:
    recent = list(inputs.sessions)[-TREND_SESSIONS:]
    counts = [s.attended for s in recent]
    last_held = inputs.sessions[-1].held_on if inputs.sessions else None
    kept = cadence_kept(inputs.today, inputs.cadence, last_held, inputs.launched_on)
    trend = attendance_trend(counts)
    half = people_doing_half(inputs.planning_work)
    work_total = sum(inputs.planning_work.values())
    health = Health(figures={
        "sessions_held": len(inputs.sessions),
        "last_session": str(last_held) if last_held else None,
        "cadence_kept": kept,
        "recent_attendance": counts,
        "attendance_trend": trend,
        "participation_by_kind": participation_by_kind(recent),
        "planning_tasks_done": work_total,
        "people_doing_half_the_planning": half,
        "volunteers": inputs.volunteers,
        "eligible_to_lead_next": inputs.eligible_next,
        "rotation_due": inputs.rotation_due,
    })
    if kept is False:
        health.attention.append(CADENCE_MISSED)
    if trend == "falling":
        health.attention.append(ATTENDANCE_FALLING)
    if inputs.rotation_due:
        health.attention.append(ROTATION_DUE)
    # Only worth a word when a new lead is about to be needed.
    if inputs.rotation_due and inputs.volunteers == 0 and inputs.eligible_next > 0:
        health.attention.append(NO_VOLUNTEERS)
    if half == 1 and work_total >= CONCENTRATED_MIN_TASKS:
        health.attention.append(PLANNING_CONCENTRATED)

    last_few = list(inputs.sessions)[-LOW_ATTENDANCE_SESSIONS:]
    if len(last_few) == LOW_ATTENDANCE_SESSIONS and all(
        s.attended < LOW_ATTENDANCE_SHARE * max(s.members_then, 1) for s in last_few
    ):
        health.natural_end.append(ATTENDANCE_FALLEN_AWAY)
    if inputs.convenor_left and inputs.planning_group_left * 2 > inputs.planning_group_total:
        health.natural_end.append(ENTHUSIASTS_LEFT)
    if inputs.eligible_next == 0:
        health.natural_end.append(NOBODY_TO_LEAD)
    if inputs.work_done:
        health.natural_end.append(WORK_DONE)
    return health
