"""Close (active -> closing), continue (closing -> active), and marking the work done."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.db.tables import AuditEntry, Community, CopSession, Membership, Person, RoleTerm
from models.lifecycle import Stage, notice_end
from models.lifecycle import notice_days as checked_notice_days
from models.reporting import Period
from models.stages import (
    close_reason,
    require_close,
    require_continue,
    require_other_cop,
    require_successor_open,
    require_work_done_mark,
)
from tasks.storage import audit
from tasks.storage.queries import convenor_of, current_members, get_community, membership_of
from tasks.usecases.acting import ActorRef, acting_decider, actor_id
from tasks.usecases.common import Outcome, change_stage, queue_email
from tasks.usecases.replies import replies_of
from tasks.usecases.stories import shareable_stories


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
    """The CoP's work, for thanks and credit: what it covered, made and changed, and who led."""
    sessions = list(db.scalars(select(CopSession).where(CopSession.community_id == community.id)
                               .order_by(CopSession.held_on)))
    leads = db.scalars(select(Person.name).join(Membership).join(RoleTerm)
                       .where(RoleTerm.community_id == community.id).order_by(RoleTerm.id))
    return {
        "sessions": len(sessions),
        "first_held": sessions[0].held_on if sessions else None,
        "last_held": sessions[-1].held_on if sessions else None,
        "topics": list(dict.fromkeys(t for s in sessions for t in s.topics)),
        "outputs": list(dict.fromkeys(o for s in sessions for o in s.outputs)),
        # Stories as their tellers allowed: a private one stays with those who heard it.
        "stories": [{"held_on": s.held_on, "text": s.text} for s in shareable_stories(
            db, community, Period(date.min, date.max))],
        "leads": list(dict.fromkeys(leads)),
        "since": community.launched_on,
    }


def successor_roles(db: Session, follow_on: Community | None) -> dict[str, str]:
    """Address -> 'convenor' or 'member' for the people already in the successor: they are
    not invited to what they run or already belong to."""
    if follow_on is None:
        return {}
    return {m.person.email: "convenor" if m.is_convenor else "member"
            for m in current_members(db, follow_on) if m.person.email}


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
    closer = membership_of(db, community, who)
    convenor = convenor_of(db, community)
    in_successor, replies = successor_roles(db, follow_on), replies_of(db, community)
    for m in current_members(db, community):
        queue_email(db, outcome, key=f"closing:{slug}:{today}:{change}:{m.person.email}", community=community,
                    template="closing-notice", name=m.person.name, email=m.person.email,
                    today=today, notice_ends_on=ends, work=work, reason=community.close_reason,
                    closed_by=closer.person.name if closer else None,
                    closed_by_convenor=bool(closer and closer.is_convenor), closed_by_you=closer is m,
                    is_convenor=m.is_convenor,
                    convenor_name=convenor.person.name if convenor else None,
                    successor=follow_on, in_successor=in_successor.get(m.person.email or ""),
                    successor_convenor=successor_convenor.person if successor_convenor else None,
                    replies=replies)
    outcome.notice_ends_on, outcome.successor = ends, follow_on.slug if follow_on else None
    outcome.notes.append(f"{slug} is closing; notice ends {ends}; {len(outcome.queued)} "
                         "people thanked and given notice")
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
    # Members were given notice of the close; tell them it is carrying on, and who decided.
    change = stage_change_id(db, community)
    decider = membership_of(db, community, who)
    replies = replies_of(db, community)
    for m in current_members(db, community):
        queue_email(db, outcome, key=f"continuing:{slug}:{today}:{change}:{m.person.email}", community=community,
                    template="continuing-notice", name=m.person.name, email=m.person.email, today=today,
                    decided_by=decider.person.name if decider else None,
                    decided_by_convenor=bool(decider and decider.is_convenor),
                    decided_by_you=decider is m, replies=replies)
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
