"""The portfolio of CoPs (DESIGN section 1, programme staff): rules over plain facts.

The seed asks for "serious consideration ... before setting up multiple new CoPs": they take
significant time and effort. So the portfolio names the people carrying planning or convening
in more than one CoP at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from models.reporting import Period, due_periods, next_due
from models.vocabulary import ReportPeriod

# The roles that carry a CoP's work; ordinary membership carries none.
CONVENOR = "convenor"
PLANNING_GROUP = "planning group"
PLANNING_LEAD = "planning lead"
ROLE_ORDER = (CONVENOR, PLANNING_LEAD, PLANNING_GROUP)


@dataclass(frozen=True)
class Carrying:
    """One person carrying one role in one CoP (a CoP not yet archived, a current member)."""

    person: int
    name: str
    slug: str
    role: str


@dataclass(frozen=True)
class Load:
    """A person carrying work in more than one CoP: each CoP with the roles they hold there."""

    name: str
    cops: tuple[tuple[str, tuple[str, ...]], ...]


def heavy_loads(carrying: Iterable[Carrying]) -> list[Load]:
    """The people carrying planning or convening in more than one CoP, most CoPs first."""
    roles: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    names: dict[int, str] = {}
    for c in carrying:
        roles[c.person][c.slug].add(c.role)
        names[c.person] = c.name
    loads = [
        Load(names[person], tuple((slug, tuple(r for r in ROLE_ORDER if r in held))
                                  for slug, held in sorted(cops.items())))
        for person, cops in roles.items() if len(cops) > 1
    ]
    return sorted(loads, key=lambda load: (-len(load.cops), load.name))


def days_in_stage(entered_on: date, today: date) -> int:
    return max((today - entered_on).days, 0)


def overdue(dues: Sequence[date | None], today: date) -> int:
    """Open tasks whose due date has passed."""
    return sum(1 for due in dues if due is not None and due < today)


@dataclass(frozen=True)
class NextReport:
    """The sponsor report a CoP owes next: periods ended and unreported, else the next one due."""

    due_now: tuple[Period, ...]
    next_period: Period
    due_on: date


def next_report(first_day: date, kind: ReportPeriod, today: date, reported: set[date]) -> NextReport:
    period, due_on = next_due(first_day, kind, today)
    return NextReport(tuple(due_periods(first_day, kind, today, reported)), period, due_on)
