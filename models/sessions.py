"""A session held, as the rules that read sessions (health, sponsor reports) need it; and the
rules for when a session may be dated, planned, and who besides members may come."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from models.errors import BadInput

MAX_GUESTS = 500  # guests at one session (a speaker, visitors): counted, never named or stored


@dataclass(frozen=True)
class SessionFacts:
    held_on: date
    attendee_kinds: tuple[str, ...]  # one entry per person attending; "convenor" for the convenor
    attendee_ids: tuple[int, ...] = ()
    format: str = "online"
    topics: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    guests: int = 0  # people from outside the CoP: counted, not named

    @property
    def attended(self) -> int:
        return len(self.attendee_kinds) + self.guests


RECENT_KEPT = 12  # sessions whose attendance a summary keeps (the console's chart; trends look at fewer)


@dataclass(frozen=True)
class SessionsHeld:
    """A CoP's sessions held, summarised as fidelity and the portfolio read them: every date, the
    last few sessions' attendance, and how many different outputs and topics (not one object per
    session: a programme's portfolio reads thousands)."""

    dates: tuple[date, ...]  # every session's date, oldest first
    recent: tuple[tuple[date, int], ...]  # the last few (RECENT_KEPT at most): (held_on, attended), oldest first
    outputs: int  # different outputs among all the sessions
    # Different topics among all the sessions; None: not counted, as a reader may leave them when
    # outputs or stories already show the practice (the only question topics answer).
    topics: int | None
    # Different people among the last few (see models.fidelity.RECENT_SESSIONS); None: not counted,
    # as a reader showing verdicts only may leave it when one of those sessions alone had enough
    # people (models.fidelity.community: the verdict does not turn on it then).
    recent_people: int | None


def require_guests(guests: int) -> int:
    if not 0 <= guests <= MAX_GUESTS:
        raise BadInput(f"--guests: {guests} is not a number of guests from 0 to {MAX_GUESTS}")
    return guests


def require_in_life(on: date, created_on: date, today: date, slug: str, option: str = "--on") -> date:
    """A session or story belongs between the day the CoP was created and today."""
    if on < created_on:
        raise BadInput(f"{option}: {on} is before {slug} existed (created {created_on})")
    if on > today:
        raise BadInput(f"{option}: {on} is after today ({today}); record it once it has happened")
    return on


def require_planned(starts_at: datetime, created_on: date, today: date, slug: str) -> datetime:
    """A planned session is ahead of us, and not before the CoP existed."""
    if starts_at.date() < created_on:
        raise BadInput(f"--on: {starts_at.date()} is before {slug} existed (created {created_on})")
    if starts_at.date() <= today:
        raise BadInput(f"--on: {starts_at.date()} is not after today ({today}); plan a session still to come")
    return starts_at
