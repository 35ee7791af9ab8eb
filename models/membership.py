"""A person's place in one CoP: who may join, leave or lead, and who owns a planning task."""

from __future__ import annotations

from models.errors import Refused


def require_not_sponsor(is_sponsor: bool, email: str, slug: str, *, to_lead: bool = False) -> str:
    """Sponsors are kept outside the community they sponsor, and never lead its planning."""
    if is_sponsor:
        why = "sponsors never lead planning" if to_lead else "sponsors are kept outside the community"
        raise Refused(f"{email} is a sponsor of {slug}; {why}")
    return email


def require_may_leave(is_convenor: bool, email: str, slug: str) -> str:
    # Every CoP keeps a convenor: they start it, record sessions and trigger its stages.
    if is_convenor:
        raise Refused(f"{email} is the convenor of {slug}; the convenor cannot leave")
    return email


def require_task_owner(has_owner: bool, slug: str) -> bool:
    """A planning task belongs to the planning lead, or the convenor when there is none."""
    if not has_owner:
        raise Refused(f"{slug} has no planning lead or convenor to own the task")
    return True


def require_task_open(task_id: int, status: str) -> str:
    if status == "done":
        raise Refused(f"task {task_id} is already done")
    return status
