"""A planning lead steps down mid-term, by leaving or by opting out of leading: the step-down
flow runs it, so the handover emails go out at once (tasks/usecases/membership.py does the work).

The flow is given the member's id, never their address (DESIGN section 6a).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from models.db.tables import Membership
from models.errors import BadInput
from tasks.storage.queries import current_term, get_community, membership_of
from tasks.usecases.acting import ActorRef
from tasks.usecases.common import Outcome
from tasks.usecases.membership import leave, volunteer


def leading_member(db: Session, slug: str, email: str) -> int | None:
    """The membership id of `email` when they lead planning in the CoP now, else None."""
    community = get_community(db, slug)
    membership = membership_of(db, community, email)
    term = current_term(db, community)
    if membership is None or term is None or term.membership_id != membership.id:
        return None
    return membership.id


def step_down(db: Session, slug: str, member_id: int, *, leaving: bool, actor: ActorRef | None,
              today: date, flow_run_id: str | None) -> Outcome:
    """The member leaves the CoP (leaving) or opts out of leading; the next lead follows at once."""
    community = get_community(db, slug)
    membership = db.get(Membership, member_id)
    if membership is None or membership.community_id != community.id or membership.person.email is None:
        raise BadInput(f"member #{member_id} is not a current member of {slug}")
    email, name = membership.person.email, membership.person.name
    outcome = Outcome(slug=slug)
    if leaving:
        leave(db, slug, email, actor=actor, today=today, outcome=outcome, flow_run_id=flow_run_id)
        outcome.notes.insert(0, f"{name} has left {slug}")
    else:
        volunteer(db, slug, email, opt_out=True, actor=actor, today=today, outcome=outcome,
                  flow_run_id=flow_run_id)
        outcome.notes.insert(0, f"{name} opted out of leading in {slug}")
    return outcome
