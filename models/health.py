"""Health of an active CoP (DESIGN section 3): figures and signals from plain inputs.

No I/O: tasks/ gathers the inputs, these rules turn them into figures, signals that need
the convenor's attention, and the natural-end signals that lead to a close *proposal*.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from models.lifecycle import Stage
from models.sessions import SessionFacts
from models.vocabulary import Cadence

# How many days may pass between sessions before the cadence counts as missed.
CADENCE_DAYS: Mapping[Cadence, int] = {
    Cadence.weekly: 7, Cadence.fortnightly: 14, Cadence.monthly: 31, Cadence.quarterly: 92}
CADENCE_GRACE = 1.5  # a session a little late is still on cadence
TREND_SESSIONS = 4  # the attendance trend looks at this many recent sessions (a report pictures more)
TREND_CHANGE = 0.2  # a change of a fifth or more between first and last counts as a trend
LOW_ATTENDANCE_SHARE = 0.3  # natural end: fewer than this share of members came...
LOW_ATTENDANCE_SESSIONS = 3  # ...at each of this many recent sessions
CONCENTRATED_MIN_TASKS = 4  # below this much planning work, concentration is not a signal
# After the members decide to continue, natural-end proposals wait for whichever comes first:
# three more sessions (new evidence to judge by) or 60 days (so a CoP that stops meeting is
# still asked, in time). The signals are still shown; only the proposal waits.
QUIET_SESSIONS = 3
QUIET_DAYS = 60

# Signals for the convenor's attention (a nudge).
CADENCE_MISSED = "cadence-missed"
ATTENDANCE_FALLING = "attendance-falling"
ROTATION_DUE = "rotation-due"
NO_VOLUNTEERS = "no-volunteers"
PLANNING_CONCENTRATED = "planning-concentrated"
LAUNCHED_NEVER_MET = "launched-never-met"  # a launching CoP past its first meeting's time
# Natural-end signals (a close proposal to the convenor and planning group).
ATTENDANCE_FALLEN_AWAY = "attendance-fallen-away"
ENTHUSIASTS_LEFT = "convenor-and-planning-group-left"
NOBODY_TO_LEAD = "nobody-eligible-to-lead"
WORK_DONE = "work-done"
NATURAL_END = (ATTENDANCE_FALLEN_AWAY, ENTHUSIASTS_LEFT, NOBODY_TO_LEAD, WORK_DONE)


@dataclass(frozen=True)
class HealthInputs:
    today: date
    cadence: Cadence | None
    launched_on: date | None
    sessions: Sequence[SessionFacts]  # oldest first
    members_now: int  # the denominator for every recent session: member counts of the past are not kept
    planning_work: Mapping[str, int]  # person -> planning tasks done
    volunteers: int  # members who volunteered to lead next, not opted out
    eligible_next: int  # people the rota could pick next (excluding the current lead)
    rotation_due: bool
    convenor_left: bool
    planning_group_total: int  # everyone who was ever on the planning group (not the convenor)
    planning_group_left: int
    work_done: bool
    stage: Stage = Stage.active  # launching: only whether it has met is checked
    first_session: date | None = None  # the charter's planned first session
    continued_on: date | None = None  # the last time the members decided to continue


@dataclass
class Health:
    figures: dict[str, Any] = field(default_factory=dict)
    attention: list[str] = field(default_factory=list)
    natural_end: list[str] = field(default_factory=list)
    quiet_until: date | None = None  # natural-end proposals wait until then (after a continue)

    @property
    def signals(self) -> list[str]:
        return [*self.attention, *self.natural_end]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cadence_kept(today: date, cadence: Cadence | None, last_held: date | None,
                 launched_on: date | None) -> bool | None:
    """True when the last session (or launch) is within the cadence, with some grace."""
    if cadence is None:
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


def people_by_kind(sessions: Sequence[SessionFacts]) -> dict[str, int]:
    """Different people who came, by kind (as sponsor reports count them): someone who came to
    every session counts once. A session recorded without ids counts its seats."""
    kind_of: dict[object, str] = {}
    for s in sessions:
        ids: Sequence[object] = s.attendee_ids or [(s.held_on, i) for i in range(s.attended)]
        kind_of.update(zip(ids, s.attendee_kinds, strict=True))
    return dict(sorted(Counter(kind_of.values()).items()))


def never_met(inputs: HealthInputs) -> bool:
    """A launching CoP whose first meeting is overdue by more than its cadence allows."""
    if inputs.stage is not Stage.launching or inputs.sessions or inputs.launched_on is None:
        return False
    expected = max(inputs.launched_on, inputs.first_session or inputs.launched_on)
    allowed = CADENCE_DAYS[inputs.cadence or Cadence.monthly] * CADENCE_GRACE
    return (inputs.today - expected).days > allowed


def quiet_until(inputs: HealthInputs) -> date | None:
    """The day natural-end proposals may resume after a decision to continue, while they wait:
    QUIET_DAYS after it, unless QUIET_SESSIONS sessions have been held since (then None)."""
    if inputs.continued_on is None:
        return None
    held_since = sum(1 for s in inputs.sessions if s.held_on > inputs.continued_on)
    until = inputs.continued_on + timedelta(days=QUIET_DAYS)
    if held_since >= QUIET_SESSIONS or inputs.today >= until:
        return None
    return until


def assess(inputs: HealthInputs) -> Health:
    if inputs.stage is Stage.launching:
        return _assess_launching(inputs)
    recent = list(inputs.sessions)[-TREND_SESSIONS:]
    counts = [s.attended for s in recent]
    last_held = inputs.sessions[-1].held_on if inputs.sessions else None
    kept = cadence_kept(inputs.today, inputs.cadence, last_held, inputs.launched_on)
    trend = attendance_trend(counts)
    half = people_doing_half(inputs.planning_work)
    work_total = sum(inputs.planning_work.values())
    health = Health(figures={
        "cadence": inputs.cadence.value if inputs.cadence else None,
        "sessions_held": len(inputs.sessions),
        "last_session": str(last_held) if last_held else None,
        "cadence_kept": kept,
        "recent_attendance": counts,
        "attendance_trend": trend,
        "people_by_kind": people_by_kind(recent),
        "planning_tasks_done": work_total,
        "people_doing_half_the_planning": half,
        "volunteers": inputs.volunteers,
        "eligible_to_lead_next": inputs.eligible_next,
        "rotation_due": inputs.rotation_due,
    })
    health.attention = _needs_attention(inputs, kept=kept, trend=trend, half=half, work_total=work_total)
    health.natural_end = _natural_end(inputs)
    health.quiet_until = quiet_until(inputs)
    if health.quiet_until is not None:
        health.figures["continued_on"] = str(inputs.continued_on)
        health.figures["proposals_quiet_until"] = str(health.quiet_until)
    return health


def _assess_launching(inputs: HealthInputs) -> Health:
    """Launched, not yet met: the one question is whether it is meeting at all."""
    return Health(
        figures={"stage": inputs.stage.value, "launched_on": str(inputs.launched_on),
                 "first_session": str(inputs.first_session) if inputs.first_session else None,
                 "cadence": inputs.cadence.value if inputs.cadence else None,
                 "sessions_held": len(inputs.sessions)},
        attention=[LAUNCHED_NEVER_MET] if never_met(inputs) else [],
    )


def _needs_attention(inputs: HealthInputs, *, kept: bool | None, trend: str, half: int | None,
                     work_total: int) -> list[str]:
    """Signals for the convenor: things to look at, none of them a reason to close."""
    signals = []
    if kept is False:
        signals.append(CADENCE_MISSED)
    if trend == "falling":
        signals.append(ATTENDANCE_FALLING)
    if inputs.rotation_due:
        signals.append(ROTATION_DUE)
    # Only worth a word when a new lead is about to be needed.
    if inputs.rotation_due and inputs.volunteers == 0 and inputs.eligible_next > 0:
        signals.append(NO_VOLUNTEERS)
    if half == 1 and work_total >= CONCENTRATED_MIN_TASKS:
        signals.append(PLANNING_CONCENTRATED)
    return signals


def _natural_end(inputs: HealthInputs) -> list[str]:
    """Signals of a natural end: they lead to a proposal to people, never to a close by themselves."""
    signals = []
    last_few = list(inputs.sessions)[-LOW_ATTENDANCE_SESSIONS:]
    if len(last_few) == LOW_ATTENDANCE_SESSIONS and all(
        s.attended < LOW_ATTENDANCE_SHARE * max(inputs.members_now, 1) for s in last_few
    ):
        signals.append(ATTENDANCE_FALLEN_AWAY)
    if inputs.convenor_left and inputs.planning_group_left * 2 > inputs.planning_group_total:
        signals.append(ENTHUSIASTS_LEFT)
    if inputs.eligible_next == 0:
        signals.append(NOBODY_TO_LEAD)
    if inputs.work_done:
        signals.append(WORK_DONE)
    return signals
