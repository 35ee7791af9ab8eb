"""What the convenor's console shows, read in the page's one read transaction.

Nothing here asks a question of its own that another layer already asks: the CoP and its people
come from `copflow community show` (tasks/storage/views.py), fidelity and the portfolio's figures
from `copflow fidelity` and `copflow portfolio` (tasks/usecases/fidelity.py, portfolio.py), and
health and the rota from the health check's page read (tasks/usecases/health.py, queries.py),
run through an ORM session on the same connection. Only the audit lines, with names, are new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Connection, select

from models.db.schema import audit_entry, person
from models.health import Health, assess
from models.lifecycle import TRANSITIONS, Stage
from models.rota import rota_order
from models.stages import HEALTH_STAGES
from tasks.storage.views import show_community
from tasks.usecases.fidelity import each, fidelity_view
from tasks.usecases.portfolio import portfolio_row

AUDIT_LINES = 15  # the most recent entries; `copflow audit SLUG` has them all
CHART_SESSIONS = 12  # the attendance chart's reach (the health trend looks at fewer)


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    on_date: date
    actor: str | None  # a person's name, or who acted when no person did ("schedule"); None: erased
    action: str
    why: str | None
    channel: str | None


@dataclass(frozen=True)
class Console:
    show: dict[str, Any]  # as `copflow community show --json`
    next_steps: list[tuple[str, str]]  # (how, to stage) from here
    standing: dict[str, Any]  # as one row of `copflow portfolio --json`
    fidelity: dict[str, Any]  # as `copflow fidelity SLUG --json`
    health: Health | None  # launching or active CoPs only
    attendance: list[tuple[date, int]]  # the recent sessions held, oldest first
    rota: list[str]  # who the rota would pick next, in order
    audit: list[AuditLine]
    today: date


def console(db: Connection, slug: str, today: date) -> Console:
    show = show_community(db, slug)
    cop, facts, fidelity = next(each(db, slug, today))
    health, rota = _health_and_rota(db, cop, today)
    stage = Stage(cop.stage)
    return Console(
        show=show,
        next_steps=[(how, to.value) for (start, to), how in TRANSITIONS.items() if start is stage],
        standing=portfolio_row(cop, facts, fidelity, today),
        fidelity=fidelity_view(cop, fidelity),
        health=health, rota=rota,
        attendance=list(facts.sessions[cop.id].recent[-CHART_SESSIONS:]),
        audit=audit_lines(db, cop.id), today=today)


def _health_and_rota(db: Connection, cop: Any, today: date) -> tuple[Health | None, list[str]]:
    """The health check's own reads and rules (nothing recorded, nobody nudged), and the rota."""
    from sqlalchemy.orm import Session

    from tasks.storage.queries import rota_candidates
    from tasks.usecases.health import gather_page

    orm = Session(bind=db)  # joins the read transaction; never flushed, never committed
    try:
        candidates = rota_candidates(orm, [cop.id])[cop.id]
        lead = next((t.membership_id for t in _open_terms(db, cop.id)), None)
        rota = [c.name for c in rota_order(candidates, lead)]
        if Stage(cop.stage) not in HEALTH_STAGES:
            return None, rota
        inputs = gather_page(orm, [cast(Any, cop)], today)[cop.id]  # a row has the columns it reads
        return assess(inputs), rota
    finally:
        orm.close()


def _open_terms(db: Connection, community_id: int) -> list[Any]:
    from models.db.schema import role_term
    from tasks.storage import selects

    return list(db.execute(selects.open_term(select(role_term.c.membership_id), community_id)))


def audit_lines(db: Connection, community_id: int) -> list[AuditLine]:
    """The most recent audit entries, newest first, each actor by name where a person acted."""
    rows = db.execute(
        select(audit_entry.c.recorded_at, audit_entry.c.on_date, audit_entry.c.actor, audit_entry.c.action,
               audit_entry.c.why, audit_entry.c.channel, person.c.name)
        .outerjoin(person, person.c.email == audit_entry.c.actor)
        .where(audit_entry.c.community_id == community_id)
        .order_by(audit_entry.c.id.desc()).limit(AUDIT_LINES))
    # An address nobody has any more (erased, changed) is never shown: the page says so in words.
    return [AuditLine(r.recorded_at, r.on_date, r.name or (None if "@" in r.actor else r.actor), r.action,
                      r.why, r.channel) for r in rows]
