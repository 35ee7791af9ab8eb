"""The portfolio's read summarises each CoP's sessions in SQL (tasks/storage/fidelity.py): the
summary, and the fidelity judged from it, are what every session read one by one would give."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, select

from models.db.schema import attendance, cop_session
from models.fidelity import COMMUNITY, COMMUNITY_MIN_PEOPLE, RECENT_SESSIONS, assess, summarise
from models.sessions import RECENT_KEPT, SessionFacts
from tasks.storage import fidelity as storage
from tasks.storage.db import read_scope
from tests.conftest import SAMPLE_CHARTER
from tests.support.lifecycle import DAY0, EVERYONE, active, create, hold_session

DAYS = (DAY0 + timedelta(days=30), DAY0 + timedelta(days=200), date(2027, 12, 1))  # mid-life and after


def every_session(db: Connection, cid: int, today: date) -> list[SessionFacts]:
    """A CoP's sessions held by today read one by one, with who came (the long way round)."""
    out = []
    for sid, held_on, topics, outputs, guests in db.execute(
        select(cop_session.c.id, cop_session.c.held_on, cop_session.c.topics, cop_session.c.outputs,
               cop_session.c.guests)
        .where(cop_session.c.community_id == cid, cop_session.c.held_on <= today)
        .order_by(cop_session.c.held_on, cop_session.c.id)).all():
        ids = tuple(db.scalars(select(attendance.c.membership_id).where(attendance.c.session_id == sid)))
        out.append(SessionFacts(held_on, ("member",) * len(ids), attendee_ids=ids,
                                topics=tuple(topics), outputs=tuple(outputs), guests=guests))
    return out


def tricky_cops() -> None:
    """One CoP meeting weekly with changing people, outputs now and then and repeated topics, more
    sessions than a summary keeps counts of; one with topics only; one that never met again; one
    whose sessions are mostly guests (counted in attendance, never named); one where only pairs
    meet, but different pairs (a community only when its different people are counted); one
    whose last session had exactly three people."""
    text = SAMPLE_CHARTER.read_text()
    busy = active(create(text.replace("slug: aaot", "slug: busy")))
    for i in range(RECENT_KEPT + 4):
        hold_session(busy, DAY0 + timedelta(days=14 + 7 * i), EVERYONE[: 1 + i % len(EVERYONE)],
                     topics=[f"case {i % 3}"], outputs=["a checklist"] if i % 5 == 0 else [])
    talk = active(create(text.replace("slug: aaot", "slug: talk")), EVERYONE[:2])  # topics, no outputs, no story
    hold_session(talk, DAY0 + timedelta(days=100), EVERYONE[:1], topics=["case 0", "case 9"])
    active(create(text.replace("slug: aaot", "slug: quiet")), EVERYONE[:1])
    visited = active(create(text.replace("slug: aaot", "slug: visited")), EVERYONE[:2])
    for i, guests in enumerate((4, 0, 1)):
        hold_session(visited, DAY0 + timedelta(days=20 + 14 * i), EVERYONE[:1], guests=guests)
    pairs = active(create(text.replace("slug: aaot", "slug: pairs")))
    for i in range(5):
        hold_session(pairs, DAY0 + timedelta(days=20 + 7 * i), [EVERYONE[0], EVERYONE[1 + i % 3]])
    three = active(create(text.replace("slug: aaot", "slug: three")))
    for i, came in enumerate((EVERYONE[:2], EVERYONE[:1], EVERYONE[:2], EVERYONE[1:4])):
        hold_session(three, DAY0 + timedelta(days=20 + 7 * i), came)


@pytest.mark.parametrize(("page_size", "keep"), [(500, storage.TRENDS_KEPT), (2, RECENT_KEPT)])
def test_the_summary_read_in_sql_is_what_every_session_gives(home: Path, page_size: int, keep: int) -> None:
    tricky_cops()
    with read_scope() as db:
        cops = storage.communities(db)
        for today in DAYS:
            for page in (cops[i:i + page_size] for i in range(0, len(cops), page_size)):
                facts = storage.read_page(db, page, today, slug_range=page_size == 500, keep=keep)
                for cop in page:
                    full = every_session(db, cop.id, today)
                    got, want = facts.sessions[cop.id], summarise(full)
                    # Topics are left uncounted only where outputs or stories show the practice.
                    assert got.topics == want.topics or (got.topics is None and (got.outputs or facts.stories[cop.id]))
                    assert got == replace(want, recent=want.recent[-keep:], topics=got.topics), (cop.slug, today)
                    summarised = storage.fidelity_inputs(facts, cop, today)
                    assert assess(summarised) == assess(replace(summarised, sessions=full, held=None))
        held = defaultdict(int, {cop.slug: len(every_session(db, cop.id, DAYS[-1])) for cop in cops})
    assert held["busy"] == RECENT_KEPT + 5 and held["talk"] == 2 and held["quiet"] == 1 and held["visited"] == 4
    assert held["pairs"] == 6 and held["three"] == 5


def test_a_read_for_verdicts_counts_the_people_only_where_the_verdict_turns_on_them(home: Path) -> None:
    """people=False (the portfolio): the different people at the last sessions are counted only
    for a CoP none of whose last sessions had enough people alone; everything else, and every
    verdict, is what the full read gives."""
    tricky_cops()
    with read_scope() as db:
        cops = storage.communities(db)
        for today in DAYS:
            full = storage.read_page(db, cops, today, keep=storage.TRENDS_KEPT)
            lean = storage.read_page(db, cops, today, keep=storage.TRENDS_KEPT, people=False)
            for cop in cops:
                counted, left = full.sessions[cop.id], lean.sessions[cop.id]
                assert left == replace(counted, recent_people=left.recent_people)
                assert left.recent_people in (None, counted.recent_people)
                enough = max((n for _, n in counted.recent[-RECENT_SESSIONS:]), default=0) >= COMMUNITY_MIN_PEOPLE
                assert (left.recent_people is None) == (bool(counted.dates) and enough), (cop.slug, today)
                assert (assess(storage.fidelity_inputs(lean, cop, today)).verdicts
                        == assess(storage.fidelity_inputs(full, cop, today)).verdicts)
        # Only pairs met, but four different people: counted, and a community, on either read.
        pairs, three = (next(c for c in cops if c.slug == slug) for slug in ("pairs", "three"))
        lean = storage.read_page(db, cops, DAYS[-1], keep=storage.TRENDS_KEPT, people=False)
        assert [n for _, n in lean.sessions[pairs.id].recent] == [2, 2, 2, 2]
        assert lean.sessions[pairs.id].recent_people == len(EVERYONE)
        assert assess(storage.fidelity_inputs(lean, pairs, DAYS[-1])).verdicts[COMMUNITY] == "met"
        # Exactly three at one session is enough: not counted.
        assert [n for _, n in lean.sessions[three.id].recent] == [2, 1, 2, 3]
        assert lean.sessions[three.id].recent_people is None
