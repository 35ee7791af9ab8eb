"""Synthetic CoPs for the benchmark, written with Core bulk inserts (fast at 10,000 CoPs).

Each CoP is active since the start of the quarter before BENCH_TODAY, so exactly one quarterly
sponsor report is due on that day: 30 members (a convenor, a planning group of four, one
volunteer), 3 sponsors, 12 weekly sessions with attendance, a rota history, open and done
planning tasks, and two audit entries. Deterministic for a given N and seed.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from models.db.tables import (
    Attendance,
    AuditEntry,
    Community,
    CopSession,
    Membership,
    Person,
    PlanningTask,
    RoleTerm,
    Sponsorship,
)

BENCH_TODAY = date(2027, 4, 2)  # Q1 2027 has ended: one quarterly report due per CoP
LAUNCHED = date(2027, 1, 4)
MEMBERS = 30  # including the convenor
SPONSORS = 3
SESSIONS = 12
OPEN_TASKS = 3
DONE_TASKS = 2
KINDS = ("practitioner", "expert-by-experience", "researcher")
CHUNK = 250  # CoPs per round of inserts: bounded memory at any N


def slug_of(i: int) -> str:
    return f"cop-{i:05d}"


Rows = dict[type, list[dict[str, Any]]]


def _take(ids: dict[str, int], kind: str) -> int:
    """The next id of this kind (ids are given here, so a chunk inserts without round trips)."""
    ids[kind] += 1
    return ids[kind] - 1


def _rows_for(i: int, rng: random.Random, ids: dict[str, int]) -> Rows:
    rows: Rows = {t: [] for t in (Community, Person, Membership, Sponsorship, CopSession, Attendance,
                                  RoleTerm, PlanningTask, AuditEntry)}
    cid = i + 1
    rows[Community].append(dict(
        id=cid, slug=slug_of(i), name=f"Community of Practice {i:05d}",
        domain=f"Shared concern number {i} in health and care",
        practice="Cases and stories from practice; implementation problems and fixes",
        cadence="weekly", sponsor_reports="quarterly", rotate_every_sessions=3,
        first_session=datetime(2027, 1, 7, 14, 0), session_minutes=90, format="online",
        location="Microsoft Teams", stage="active", created_on=date(2026, 12, 1),
        launched_on=LAUNCHED, work_done=False, version=3,
    ))
    memberships = _people(rows, i, cid, ids)
    _sessions(rows, cid, memberships, rng, ids)
    _leads_and_tasks(rows, cid, memberships[1:5], ids)
    _audit(rows, i, cid, ids)
    return rows


def _people(rows: Rows, i: int, cid: int, ids: dict[str, int]) -> list[int]:
    """Members (the first is the convenor) and sponsors; returns the membership ids."""
    memberships: list[int] = []
    for m in range(MEMBERS):
        pid, mid = _take(ids, "person"), _take(ids, "membership")
        memberships.append(mid)
        rows[Person].append(dict(id=pid, name=f"Member {m:02d} of {i:05d}",
                                 email=f"m{m:02d}.c{i:05d}@example.org"))
        rows[Membership].append(dict(
            id=mid, community_id=cid, person_id=pid, is_convenor=m == 0,
            kind=None if m == 0 else KINDS[m % 3], planning_group=m <= 4,
            volunteered=m == 5, opted_out=m == 6, joined_on=date(2026, 12, 1), left_on=None,
        ))
    for s in range(SPONSORS):
        pid = _take(ids, "person")
        rows[Person].append(dict(id=pid, name=f"Sponsor {s} of {i:05d}",
                                 email=f"s{s}.c{i:05d}@example.nhs.uk"))
        rows[Sponsorship].append(dict(id=_take(ids, "sponsor"), community_id=cid, person_id=pid,
                                      organisation=f"Trust {s}", added_on=date(2026, 12, 1)))
    return memberships


def _sessions(rows: Rows, cid: int, memberships: list[int], rng: random.Random, ids: dict[str, int]) -> None:
    for s in range(SESSIONS):
        sid = _take(ids, "session")
        held = date(2027, 1, 7) + timedelta(weeks=s)
        rows[CopSession].append(dict(
            id=sid, community_id=cid, held_on=held, format="online",
            topics=[f"Case {s + 1}"], methods=["Time to Think"] if s % 4 == 0 else [],
            outputs=[f"Checklist v{s}"] if s % 6 == 5 else [], guests=0, recorded_on=held,
        ))
        came = rng.sample(memberships, rng.randint(MEMBERS // 2, MEMBERS - 4))
        rows[Attendance].extend(dict(session_id=sid, membership_id=mid) for mid in came)


def _leads_and_tasks(rows: Rows, cid: int, leads: list[int], ids: dict[str, int]) -> None:
    """Planning leads so far, three sessions each (the last term still running), and their tasks."""
    for t, at_start in enumerate((0, 3, 6, 9)):
        started = date(2027, 1, 7) + timedelta(weeks=at_start)
        ended = date(2027, 1, 7) + timedelta(weeks=at_start + 3) if t < 3 else None
        rows[RoleTerm].append(dict(id=_take(ids, "term"), community_id=cid, membership_id=leads[t],
                                   started_on=started, ended_on=ended, sessions_at_start=at_start))
    for k in range(OPEN_TASKS + DONE_TASKS):
        done = k >= OPEN_TASKS
        rows[PlanningTask].append(dict(
            id=_take(ids, "task"), community_id=cid, title=f"Plan session topic {k}", notes=None,
            due=BENCH_TODAY + timedelta(days=7 * (k + 1)), owner_id=leads[3 if not done else k % 3],
            status="done" if done else "open", created_on=date(2027, 3, 1),
            done_on=date(2027, 3, 15) if done else None,
        ))


def _audit(rows: Rows, i: int, cid: int, ids: dict[str, int]) -> None:
    for action, on in (("community.created", date(2026, 12, 1)), ("stage.changed", LAUNCHED)):
        rows[AuditEntry].append(dict(
            id=_take(ids, "audit"), community_id=cid, recorded_at=datetime.combine(on, datetime.min.time()),
            on_date=on, actor=f"m00.c{i:05d}@example.org", action=action, why="benchmark data",
            before=None, after={"stage": "active"} if action == "stage.changed" else None,
            flow_run_id=None,
        ))


def generate(engine: Engine, n: int, *, seed: int = 2027) -> dict[str, int]:
    """Insert N CoPs into an empty, migrated database; return the row counts."""
    rng = random.Random(seed)
    ids = dict(person=1, membership=1, sponsor=1, session=1, term=1, task=1, audit=1)
    counts: dict[str, int] = {}
    order = (Community, Person, Membership, Sponsorship, CopSession, Attendance, RoleTerm,
             PlanningTask, AuditEntry)
    for start in range(0, n, CHUNK):
        batch: dict[type, list[dict[str, Any]]] = {t: [] for t in order}
        for i in range(start, min(n, start + CHUNK)):
            for table, rows in _rows_for(i, rng, ids).items():
                batch[table].extend(rows)
        with engine.begin() as conn:
            for table in order:
                if batch[table]:
                    conn.execute(insert(table.__table__), batch[table])
                    counts[table.__table__.name] = counts.get(table.__table__.name, 0) + len(batch[table])
    return counts
