"""Fidelity from sessions summarised (models.sessions.SessionsHeld, as the portfolio's reader
hands them over) and from every session's own facts: the same verdicts and evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from models.fidelity import RECENT_SESSIONS, FidelityInputs, assess, summarise
from models.health import TREND_SESSIONS
from models.lifecycle import Stage
from models.sessions import RECENT_KEPT, SessionFacts
from tests.unit.test_fidelity import BASE, TODAY

START = TODAY - timedelta(days=400)


def sessions(*people: tuple[int, ...], every: int = 30, outputs: tuple[str, ...] = (),
             topics: tuple[str, ...] = ()) -> list[SessionFacts]:
    return [SessionFacts(START + timedelta(days=every * i), ("member",) * len(ids), attendee_ids=ids,
                         outputs=outputs if i % 3 == 0 else (), topics=topics[i % len(topics):][:1] if topics else ())
            for i, ids in enumerate(people)]


MANY = [(1, 2), (2, 3, 4), (1,), (1, 2, 3, 4, 5)] * 4  # more sessions than a summary keeps counts of
TRICKY = {
    "no session": replace(BASE, sessions=[]),
    "one session, one person": replace(BASE, sessions=sessions((7,))),
    "many, outputs repeated": replace(BASE, sessions=sessions(*MANY, outputs=("a checklist", "a map"))),
    "topics only": replace(BASE, sessions=sessions(*MANY, topics=("a", "b", "c")), stories=[]),
    "nothing shown": replace(BASE, sessions=sessions((1, 2, 3)), stories=[]),
    "long gaps, late": replace(BASE, sessions=sessions((1, 2), (1, 3), (2, 3), every=75)),
    "sessions after it closed": replace(BASE, stage=Stage.closing, ended_on=START + timedelta(days=100),
                                        sessions=sessions(*MANY)),
    "seats without ids": replace(BASE, sessions=[replace(s, attendee_ids=()) for s in sessions(*MANY)]),
    "the reader counted the people": replace(BASE, sessions=sessions(*MANY), recent_people=2),
    "proposed": replace(BASE, stage=Stage.proposed, launched_on=None, sessions=[]),
}


@pytest.mark.parametrize("name", TRICKY)
def test_summarised_sessions_give_the_same_fidelity_as_every_session(name: str) -> None:
    full: FidelityInputs = TRICKY[name]
    summarised = replace(full, sessions=(), recent_people=None, held=summarise(full.sessions, full.recent_people))
    assert assess(summarised) == assess(full)


def test_a_summary_keeps_enough_recent_sessions_for_every_reader() -> None:
    from web.console_reads import CHART_SESSIONS

    assert max(RECENT_SESSIONS, TREND_SESSIONS, CHART_SESSIONS) <= RECENT_KEPT
    held = summarise(sessions(*MANY))
    assert len(held.dates) == len(MANY) and len(held.recent) == RECENT_KEPT
    assert [n for _, n in held.recent[-4:]] == [2, 3, 1, 5] and held.recent_people == 5
