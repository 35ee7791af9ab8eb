"""Planning tasks: added for the current planning lead, and done."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from models.db.tables import (
    Community,
    PlanningTask,
)
from models.errors import BadInput
from models.membership import require_task_open, require_task_owner
from tasks.storage import audit
from tasks.storage.queries import (
    convenor_of,
    current_term,
    membership_of,
)
from tasks.usecases.acting import ActorRef, acting_decider


def add_task(
    db: Session, slug: str, *, title: str, due: date | None, notes: str | None,
    actor: ActorRef | None, today: date,
) -> PlanningTask:
    community, who = acting_decider(db, slug, actor)
    term = current_term(db, community)
    owner = term.membership if term is not None else convenor_of(db, community)
    require_task_owner(owner is not None, slug)
    assert owner is not None
    task = PlanningTask(community_id=community.id, title=title, notes=notes, due=due,
                        owner_id=owner.id, status="open", created_on=today)
    db.add(task)
    db.flush()
    audit.record(db, community, actor=who, action="task.added", on_date=today,
                 after={"task": task.id, "title": title, "owner": owner.person.email,
                        "due": str(due) if due else None})
    return task


def complete_task(db: Session, slug: str, task_id: int, *, actor: ActorRef | None, today: date) -> PlanningTask:
    def owner(cop: Community) -> str | None:
        """The task's owner may mark it done themselves while they are a member."""
        task = _task_in(db, cop, task_id)
        return task.owner.person.email if task.owner.left_on is None else None

    community, who = acting_decider(db, slug, actor, for_self=owner)
    task = _task_in(db, community, task_id)
    require_task_open(task_id, task.status)
    task.status, task.done_on = "done", today
    audit.record(db, community, actor=who, action="task.done", on_date=today,
                 before={"task": task_id, "status": "open"}, after={"task": task_id, "status": "done"})
    return task


def reassign_task(db: Session, slug: str, task_id: int, to: str, *, actor: ActorRef | None,
                  today: date) -> PlanningTask:
    """Hand an open task to another current member: the convenor's or planning group's choice."""
    community, who = acting_decider(db, slug, actor)
    task = _task_in(db, community, task_id)
    require_task_open(task_id, task.status)
    owner = membership_of(db, community, to)
    if owner is None or owner.left_on is not None:
        raise BadInput(f"--to: {to} is not a current member of {slug}")
    before = task.owner.person.email
    if owner.id == task.owner_id:
        raise BadInput(f"--to: task {task_id} is already {owner.person.name}'s")
    task.owner = owner
    db.flush()
    audit.record(db, community, actor=who, action="task.reassigned", on_date=today,
                 before={"task": task_id, "owner": before}, after={"task": task_id, "owner": owner.person.email})
    return task


def _task_in(db: Session, community: Community, task_id: int) -> PlanningTask:
    # An id no database could hold is simply not a task here (SQLite would overflow on it).
    task = db.get(PlanningTask, task_id) if 0 < task_id < 2**63 else None
    if task is None or task.community_id != community.id:
        raise BadInput(f"TASK_ID: no task {task_id} in {community.slug}")
    return task
