"""Close (active -> closing), continue (closing -> active), and marking the work done."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.db.tables import AuditEntry, Community, CopSession
from models.lifecycle import Stage, notice_end
from models.lifecycle import notice_days as checked_notice_days
from models.stages import (
    close_reason,
    require_close,
    require_continue,
    require_other_cop,
    require_successor_open,
    require_work_done_mark,
)
from tasks.storage import audit
from tasks.storage.queries import convenor_of, current_members, get_community
from tasks.usecases.acting import ActorRef, acting_decider, actor_id
from tasks.usecases.common import Outcome, change_stage, queue_email


def check_close(db: Session, slug: str, actor: ActorRef | None, reason: str, successor: str | None,
                notice_days: int) -> tuple[Community, str, Community | None]:
    close_reason(reason)
    checked_notice_days(notice_days)
    community, who = acting_decider(db, slug, actor)
    require_close(Stage(community.stage), slug, community.notice_ends_on)
    follow_on = None
    if successor:
        follow_on = get_community(db, require_other_cop(slug, successor))
        require_successor_open(successor, Stage(follow_on.stage))
    return community, who, follow_on


def stage_change_id(db: Session, community: Community) -> int:
    """The audit entry of the stage change just made: a CoP closed, continued and closed again
    on one day gives each notice its own key, so nobody misses the second one."""
    return db.scalar(select(func.max(AuditEntry.id)).where(
        AuditEntry.community_id == community.id, AuditEntry.action == "stage.changed")) or 0


def what_it_did(db: Session, community: Community) -> dict[str, object]:
    """The CoP's work, for thanks and credit."""
    sessions = list(db.scalars(select(CopSession).where(CopSession.community_id == community.id)
                               .order_by(CopSession.held_on)))
    return {
        "sessions": len(sessions),
        "topics": list(dict.fromkeys(t for s in sessions for t in s.topics)),
        "outputs": list(dict.fromkeys(o for s in sessions for o in s.outputs)),
        "since": community.launched_on,
    }


def close(db: Session, slug: str, *, actor: ActorRef | None, reason: str, successor: str | None,
          notice_days: int, today: date, flow_run_id: str | None) -> Outcome:
    community, who, follow_on = check_close(db, slug, actor, reason, successor, notice_days)
    ends = notice_end(today, notice_days)
    reason = close_reason(reason)
    before = change_stage(db, community, Stage.closing, actor=who, today=today, why=reason,
                          flow_run_id=flow_run_id,
                          extra={"notice_ends_on": str(ends),
                                 "successor": follow_on.slug if follow_on else None})
    community.close_reason = reason
    community.closing_since = today
    community.notice_ends_on = ends
    community.successor_id = follow_on.id if follow_on else None
    outcome = Outcome(slug=slug, stage_before=before, stage_after=Stage.closing.value, actor_id=actor_id(db, who))
    successor_convenor = convenor_of(db, follow_on) if follow_on else None
    work = what_it_did(db, community)
    change = stage_change_id(db, community)
    for m in current_members(db, community):
        queue_email(db, outcome, key=f"closing:{slug}:{today}:{change}:{m.person.email}", community=community,
                    template="closing-notice", name=m.person.name, email=m.person.email,
                    today=today, notice_ends_on=ends, work=work, reason=community.close_reason,
                    successor=follow_on,
                    successor_convenor=successor_convenor.person if successor_convenor else None)
    outcome.notice_ends_on, outcome.successor = ends, follow_on.slug if follow_on else None
    outcome.notes.append(f"{slug} is closing; notice ends {ends}; {len(outcome.queued)} "
                         "members thanked and given notice")
    return outcome


def check_continue(db: Session, slug: str, actor: ActorRef | None) -> tuple[Community, str]:
    community, who = acting_decider(db, slug, actor)
    require_continue(Stage(community.stage), slug)
    return community, who


def continue_community(db: Session, slug: str, *, actor: ActorRef | None, today: date,
                       flow_run_id: str | None) -> Outcome:
    community, who = check_continue(db, slug, actor)
    before = change_stage(db, community, Stage.active, actor=who, today=today,
                          why="the members decided to continue", flow_run_id=flow_run_id,
                          extra={"was_closing_for": community.close_reason})
    community.close_reason = community.closing_since = community.notice_ends_on = None
    community.successor_id = None
    community.work_done = False
    outcome = Outcome(slug=slug, stage_before=before, stage_after=Stage.active.value, actor_id=actor_id(db, who),
                      notes=[f"{slug} continues: it is active again"])
    # Members were given notice of the close; tell them it is carrying on.
    change = stage_change_id(db, community)
    for m in current_members(db, community):
        queue_email(db, outcome, key=f"continuing:{slug}:{today}:{change}:{m.person.email}", community=community,
                    template="continuing-notice", name=m.person.name, email=m.person.email, today=today)
    return outcome


def mark_work_done(db: Session, slug: str, *, actor: ActorRef | None, today: date) -> Community:
    """The convenor (or planning group) says the CoP's work is done: a natural-end signal."""
    community, who = acting_decider(db, slug, actor)
    require_work_done_mark(Stage(community.stage), slug, community.work_done)
    community.work_done = True
    audit.record(db, community, actor=who, action="community.work-done", on_date=today,
                 why="the convenor or planning group says the work is done",
                 before={"work_done": False}, after={"work_done": True})
    return community
