"""Sponsor reports: report periods and the figures of one period, from plain inputs.

Periods are calendar months or quarters, starting with the one that contains the
launch date. A period is due once it has ended (the day after its last day).
The figures follow the value-creation framing: what happened, what it produced,
what changed, the planning group's changes, and what is next.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from models.sessions import SessionFacts
from models.stories import Consent, StoryFacts, shared_text
from models.vocabulary import ReportPeriod

PICTURE_SESSIONS = 12  # sessions shown in the attendance picture (health's trend reads fewer)
# took-lead: became planning lead; volunteered / opted-out: offered to lead, or stepped back
PlanningEvent = Literal["took-lead", "joined", "left", "volunteered", "opted-out"]
KIND_ORDER = ("practitioner", "expert-by-experience", "researcher", "convenor")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        whole_months = self.start.day == 1 and (self.end + timedelta(days=1)).day == 1
        if not whole_months:
            return f"{self.start.day} {self.start:%B %Y} to {self.end.day} {self.end:%B %Y}"
        if self.start.month == self.end.month and self.start.year == self.end.year:
            return self.start.strftime("%B %Y")
        if self.start.year == self.end.year:
            return f"{self.start:%B} to {self.end:%B %Y}"
        return f"{self.start:%B %Y} to {self.end:%B %Y}"


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_containing(day: date, kind: ReportPeriod) -> Period:
    if kind is ReportPeriod.monthly:
        start = _month_start(day)
        length = 1
    else:
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        length = 3
    return Period(start, _add_months(start, length) - timedelta(days=1))


def periods_from(first_day: date, kind: ReportPeriod) -> Iterator[Period]:
    period = period_containing(first_day, kind)
    while True:
        yield period
        period = period_containing(period.end + timedelta(days=1), kind)


def next_due(first_day: date, kind: ReportPeriod, today: date) -> tuple[Period, date]:
    """The first period not yet ended on today, and the day its report falls due."""
    for period in periods_from(first_day, kind):
        if period.end >= today:
            return period, period.end + timedelta(days=1)
    raise AssertionError("unreachable")


def due_periods(
    first_day: date, kind: ReportPeriod, today: date, reported: set[date] | frozenset[date] = frozenset()
) -> list[Period]:
    """Periods from the one containing first_day that have ended by today and are not reported."""
    due: list[Period] = []
    for period in periods_from(first_day, kind):
        if period.end >= today:
            break
        if period.start not in reported:
            due.append(period)
    return due


# The figures: stored on the SponsorReport row and rendered for every sponsor alike.
class Bar(BaseModel):
    held_on: date
    attended: int
    in_period: bool


class Story(BaseModel):
    """A story as it may leave the CoP: its words already as the teller's consent allows."""

    held_on: date
    text: str
    # None in figures stored before stories carried a consent: those are not shared again.
    consent: Consent | None = None
    story_id: int | None = None
    teller: str | None = None  # named stories only
    at_session: bool = True


def _shareable(stories: list[Story]) -> list[Story]:
    return [s for s in stories if s.consent in (Consent.named, Consent.anonymous)]


class PlanningChange(BaseModel):
    """A change in who plans: the words are the template's (templates/email/_report.*)."""

    on: date
    event: PlanningEvent | None = None
    who: str | None = None  # None: not named (stepping back, moving on) or no longer known
    what: str | None = None  # the sentence itself, in figures stored before the words moved to templates


class NextTask(BaseModel):
    title: str
    due: date | None = None
    overdue: bool = False  # due before the day the report was written, and still open

    @model_validator(mode="before")
    @classmethod
    def _from_sentence(cls, value: Any) -> Any:
        # Figures stored before the words moved to templates hold "Title (by 3 March 2027)".
        return {"title": value} if isinstance(value, str) else value


class AttendanceFall(BaseModel):
    """A big fall in attendance, so a reader is not left to guess: from the highest recent session
    to the latest, and the day the health check first pointed it out to the planning group."""

    high: int
    high_on: date
    low: int
    low_on: date
    noticed_on: date | None = None


class KindCount(BaseModel):
    kind: str
    people: int


class ReportFigures(BaseModel):
    period_start: date
    period_end: date
    period_label: str
    final: bool = False
    sessions: int
    attendances: int
    people: int  # different people who attended at least once
    average_attendance: float | None
    members_now: int
    by_kind: list[KindCount] = Field(default_factory=list)
    formats: dict[str, int] = Field(default_factory=dict)
    methods: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=list)
    stories: Annotated[list[Story], AfterValidator(_shareable)] = Field(default_factory=list)
    guests: int = 0  # attendances by guests, within `attendances`
    planning_changes: list[PlanningChange] = Field(default_factory=list)
    planning_lead: str | None = None
    next_up: list[NextTask] = Field(default_factory=list)
    trend: list[Bar] = Field(default_factory=list)
    trend_max: int = 0
    # The whole life so far, up to the period's end: the final report credits it all.
    life_sessions: int = 0
    life_attendances: int = 0
    life_people: int = 0
    # True of the period, whenever the report is written: who led planning in it, first to last,
    # and who leads now when someone took over after the period ended.
    leads: list[str] = Field(default_factory=list)
    lead_now: str | None = None
    written_on: date | None = None
    next_session: date | None = None
    next_session_planned: bool = False  # a date set; otherwise the month the cadence points to
    attendance_fall: AttendanceFall | None = None
    closed_by: str | None = None  # the final report: who gave the reason for closing
    closed_by_convenor: bool = False


def _distinct(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _kind_of_each_person(sessions: Sequence[SessionFacts]) -> dict[int | tuple[date, int], str]:
    """Each person who came, once, under their kind (sessions recorded without ids count per seat)."""
    kind_of: dict[int | tuple[date, int], str] = {}
    for s in sessions:
        ids: Sequence[int | tuple[date, int]] = s.attendee_ids or [
            (s.held_on, i) for i in range(len(s.attendee_kinds))
        ]
        for pid, kind in zip(ids, s.attendee_kinds, strict=True):
            kind_of[pid] = kind
    return kind_of


def _by_kind(kind_of: dict[int | tuple[date, int], str]) -> list[KindCount]:
    kinds = Counter(kind_of.values())
    by_kind = [KindCount(kind=k, people=kinds[k]) for k in KIND_ORDER if kinds.get(k)]
    return by_kind + [KindCount(kind=k, people=n) for k, n in sorted(kinds.items()) if k not in KIND_ORDER]


FALL_SHARE = 0.5  # the latest session has half or fewer of the recent high...
FALL_PEOPLE = 4  # ...and at least this many fewer people: worth a word of context


def attendance_fall(trend: Sequence[Bar], noticed: Sequence[date] = ()) -> AttendanceFall | None:
    """The fall from the most recent highest session to the period's latest, when it is big.
    `noticed`: days the health check flagged falling attendance; the first after the high counts."""
    inside = [b for b in trend if b.in_period]
    if not inside:
        return None
    low = inside[-1]
    before = [b for b in trend if b.held_on < low.held_on]
    if not before:
        return None
    high = max(before, key=lambda b: (b.attended, b.held_on))
    if low.attended > high.attended * FALL_SHARE or high.attended - low.attended < FALL_PEOPLE:
        return None
    seen = [d for d in sorted(noticed) if high.held_on < d]
    return AttendanceFall(high=high.attended, high_on=high.held_on, low=low.attended, low_on=low.held_on,
                          noticed_on=seen[0] if seen else None)


def add_months(day: date, months: int) -> date:
    """The same day of the month, `months` later (the 31st becomes the month's last day)."""
    first = _add_months(day.replace(day=1), months)
    last = (_add_months(first, 1) - timedelta(days=1)).day
    return first.replace(day=min(day.day, last))


CADENCE_STEP: dict[str, tuple[int, int]] = {  # (months, days) between sessions
    "weekly": (0, 7), "fortnightly": (0, 14), "monthly": (1, 0), "quarterly": (3, 0)}


def next_session(planned: date | None, last_held: date | None, cadence: str | None,
                 today: date) -> tuple[date | None, bool]:
    """(the next session's date, whether it is set) from a planned date after today, else the
    cadence from the last session; None when neither says anything still to come."""
    if planned is not None and planned > today:
        return planned, True
    if last_held is None or cadence not in CADENCE_STEP:
        return None, False
    months, days = CADENCE_STEP[cadence]
    expected = add_months(last_held, months) + timedelta(days=days)
    return (expected, False) if expected > today else (None, False)


def shared_stories(period: Period, stories: Sequence[StoryFacts], names: Sequence[str],
                   replacement: str) -> list[Story]:
    """The stories that surfaced in the period and may leave the CoP, in the words consent allows."""
    shared = []
    for s in sorted(stories, key=lambda s: (s.told_on, s.story_id)):
        text = shared_text(s, names, replacement) if period.start <= s.surfaced_on <= period.end else None
        if text is not None:
            shared.append(Story(held_on=s.told_on, text=text, consent=s.consent, story_id=s.story_id,
                                teller=s.teller if s.consent is Consent.named else None,
                                at_session=s.at_session))
    return shared


def figures(
    period: Period,
    sessions: Sequence[SessionFacts],
    *,
    members_now: int,
    stories: Sequence[Story] = (),
    changes: Sequence[PlanningChange] = (),
    planning_lead: str | None = None,
    next_up: Sequence[NextTask] = (),
    final: bool = False,
) -> ReportFigures:
    """The figures of one period. `sessions` may include earlier ones: they feed the trend."""
    ordered = sorted((s for s in sessions if s.held_on <= period.end), key=lambda s: s.held_on)
    inside = [s for s in ordered if s.held_on >= period.start]
    attendances = sum(s.attended for s in inside)
    guests = sum(s.guests for s in inside)
    kind_of = _kind_of_each_person(inside)
    trend = ordered[-PICTURE_SESSIONS:]
    return ReportFigures(
        period_start=period.start,
        period_end=period.end,
        period_label=period.label,
        final=final,
        sessions=len(inside),
        attendances=attendances,
        people=len(kind_of) + guests,
        average_attendance=round(attendances / len(inside), 1) if inside else None,
        members_now=members_now,
        by_kind=_by_kind(kind_of) + ([KindCount(kind="guest", people=guests)] if guests else []),
        formats=dict(Counter(s.format for s in inside)),
        methods=_distinct([m for s in inside for m in s.methods]),
        topics=_distinct([t for s in inside for t in s.topics]),
        outputs=_distinct([o for s in inside for o in s.outputs]),
        stories=list(stories),
        guests=guests,
        planning_changes=[
            c for c in sorted(changes, key=lambda c: c.on)
            if period.start <= c.on <= period.end
        ],
        planning_lead=planning_lead,
        next_up=list(next_up),
        trend=[
            Bar(held_on=s.held_on, attended=s.attended, in_period=s.held_on >= period.start)
            for s in trend
        ],
        trend_max=max((s.attended for s in trend), default=0),
        life_sessions=len(ordered),
        life_attendances=sum(s.attended for s in ordered),
        life_people=len({pid for s in ordered for pid in (s.attendee_ids or ())}),
    )
