"""Planning tasks: added for the current planning lead, and done."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from models.db.tables import (
    PlanningTask,
)
from models.errors import BadInput, Refused
from models.lifecycle import Stage, require_writable
from tasks.storage import audit
from tasks.storage.queries import (
    convenor_of,
    current_term,
    get_community,
)
from tasks.usecases.acting import require_decider, resolve_actor


def add_task(
    db: Session, slug: str, *, title: str, due: date | None, notes: str | None,
    actor: str | None, today: date,
) -> PlanningTask:
    community = get_community(db, slug)
    require_writable(Stage(community.stage), slug)
    who = resolve_actor(db, community, actor)
    require_decider(db, community, who)
    term = current_term(db, community)
    owner = term.membership if term is not None else convenor_of(db, community)
    if owner is None:
        raise Refused(f"{slug} has no planning lead or convenor to own the task")
    task = PlanningTask(community_id=community.id, title=title, notes=notes, due=due,
                        owner_id=owner.id, status="open", created_on=today)
    db.add(task)
    db.flush()
    audit.record(db, community, actor=who, action="task.added", on_date=today,
                 after={"task": task.id, "title": title, "owner": owner.person.email,
                        "due": str(due) if due else None})
    return task


def complete_task(db: Session, slug: str, task_id: int, *, actor: str | None, today: date) -> PlanningTask:
    community = get_community(db, slug)
    require_writable(Stage(community.stage), slug)
    who = resolve_actor(db, community, actor)
    # An id no database could hold is simply not a task here (SQLite would overflow on it).
    task = db.get(PlanningTask, task_id) if 0 < task_id < 2**63 else None
    if task is None or task.community_id != community.id:
        raise BadInput(f"TASK_ID: no task {task_id} in {slug}")
    if task.owner.person.email != who or task.owner.left_on is not None:
        require_decider(db, community, who)
    if task.status == "done":
        raise Refused(f"task {task_id} is already done")
    task.status, task.done_on = "done", today
    audit.record(db, community, actor=who, action="task.done", on_date=today,
                 before={"task": task_id, "status": "open"}, after={"task": task_id, "status": "done"})
    return task

