"""Read views of what is coming: the next session (date and agenda) and the planning tasks.

Core `select()`s on a connection, as tasks/storage/views.py: read-only commands load no ORM.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, select

from models.db.schema import cop_session, membership, person, planned_session, planning_task


def next_session_of(db: Connection, cop: Row[Any]) -> dict[str, Any]:
    """The next session as members know it: the open plan, else the charter's first session
    (with the first session's agenda) while none has been held; None when nothing is set."""
    plan = db.execute(select(planned_session.c.starts_at, planned_session.c.agenda)
                      .where(planned_session.c.community_id == cop.id, planned_session.c.held_on.is_(None))
                      .order_by(planned_session.c.id.desc()).limit(1)).one_or_none()
    held = db.scalar(select(cop_session.c.id).where(cop_session.c.community_id == cop.id).limit(1))
    if plan is not None:
        agenda = list(plan.agenda or [])
        if not agenda and held is None:
            agenda = _first_agenda()
        return {"next_session": {"starts_at": plan.starts_at.isoformat(timespec="minutes"),
                                 "agenda": agenda, "first": held is None}}
    if cop.first_session is not None and held is None:
        return {"next_session": {"starts_at": cop.first_session.isoformat(timespec="minutes"),
                                 "agenda": _first_agenda(), "first": True}}
    return {"next_session": None}


def _first_agenda() -> list[str]:
    from tasks.agenda import first_session_agenda

    return first_session_agenda()


def task_list(db: Connection, community_id: int, today: date) -> list[dict[str, Any]]:
    """Every planning task: open ones first, soonest due first, then the done ones."""
    rows = db.execute(
        select(planning_task.c.id, planning_task.c.title, planning_task.c.due, planning_task.c.status,
               planning_task.c.created_on, planning_task.c.done_on, person.c.name)
        .join(membership, membership.c.id == planning_task.c.owner_id)
        .join(person, person.c.id == membership.c.person_id)
        .where(planning_task.c.community_id == community_id)
        .order_by(planning_task.c.status != "open", planning_task.c.due.is_(None), planning_task.c.due,
                  planning_task.c.id))
    return [{"id": t.id, "title": t.title, "due": str(t.due) if t.due else None, "status": t.status,
             "owner": t.name, "overdue": t.status == "open" and t.due is not None and t.due < today,
             "done_on": str(t.done_on) if t.done_on else None} for t in rows]
