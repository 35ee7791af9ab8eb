"""Nobody acts in the future: a past day replays, today is today, a later day is refused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models.acting_day import require_not_future
from models.errors import BadInput

REAL = date(2027, 6, 1)


def test_a_past_day_or_today_is_allowed() -> None:
    assert require_not_future(date(2020, 1, 1), REAL) == date(2020, 1, 1)
    assert require_not_future(REAL, REAL) == REAL


@pytest.mark.parametrize("ahead", [1, 30, 365 * 72])
def test_a_later_day_is_refused_in_one_line(ahead: int) -> None:
    with pytest.raises(BadInput, match=r"^--today: .* is later than today's date \(2027-06-01\)"):
        require_not_future(REAL + timedelta(days=ahead), REAL)


def test_a_day_of_slack_for_another_time_zone_and_no_more() -> None:
    assert require_not_future(REAL + timedelta(days=1), REAL, "today", slack_days=1)
    with pytest.raises(BadInput, match="^today: "):
        require_not_future(REAL + timedelta(days=2), REAL, "today", slack_days=1)


def test_only_a_simulation_in_this_process_moves_the_latest_day() -> None:
    import tasks.clock as clock

    saved = clock._extended_to
    clock.extend_to(None)
    try:
        real = date.today()
        assert clock.latest_day() == real and clock.checked_day(None) == real
        with pytest.raises(BadInput):
            clock.checked_day(real + timedelta(days=1))
        with clock.simulated_until(real + timedelta(days=400)):
            assert clock.checked_day(real + timedelta(days=400)) == real + timedelta(days=400)
        assert clock.latest_day() == real
    finally:
        clock.extend_to(saved)
