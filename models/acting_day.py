"""No one acts in the future (DESIGN section 2): the day a change is recorded under may replay
the past, never run ahead of the real date. A --today ahead of it could cut a notice period
short, send years of empty sponsor reports, or rotate a lead before anyone has met."""

from __future__ import annotations

from datetime import date, timedelta

from models.errors import BadInput


def require_not_future(day: date, real: date, option: str = "--today", slack_days: int = 0) -> date:
    """`day`, when it is no later than the real date (plus `slack_days` for clocks in other time
    zones); otherwise one clear line."""
    if day > real + timedelta(days=slack_days):
        raise BadInput(f"{option}: {day} is later than today's date ({real}); a past date replays "
                       "what happened, a future one is refused")
    return day
