"""What every use case shares: the outcome it returns, moving a stage, queuing email."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from models.db.tables import Community
from models.lifecycle import Stage, require_transition
from tasks.email import member_mail
from tasks.email.outbox import Recipient, enqueue
from tasks.rendering import render_email
from tasks.storage import audit
from tasks.usecases.replies import Replies, replies_of

SCHEDULE = "copflow schedule"  # the actor named in audit entries when a schedule, not a person, acts


@dataclass(slots=True)  # slots: a run over every CoP holds one per CoP to its end
class Outcome:
    """What one use case did, for the flow's artifact, events and the CLI's summary."""

    slug: str
    stage_before: str | None = None
    stage_after: str | None = None
    actor_id: int | None = None  # the person who acted, by id (None: the schedule); never an address
    queued: list[str] = field(default_factory=list)  # outbox keys newly queued
    notes: list[str] = field(default_factory=list)  # plain sentences for people
    # launch and rotate: who leads planning now, who led before, how many open tasks moved
    planning_lead: str | None = None
    previous_lead: str | None = None
    tasks_moved: int = 0
    no_one_eligible: bool = False  # rotate: nobody else could lead, so nobody was picked
    attended: int | None = None  # a session recorded: how many came
    # close
    notice_ends_on: date | None = None
    successor: str | None = None
    # archive: where the bundle was written
    archive: str | None = None
    # health: the signals, the figures (None when a run over every CoP left them in the records)
    attention: list[str] = field(default_factory=list)
    natural_end: list[str] = field(default_factory=list)
    figures: dict[str, Any] | None = None
    close_proposed: bool = False
    # sponsor reports: the periods this run built, and the next one due
    periods: list[str] = field(default_factory=list)
    next_period: str | None = None
    next_due_on: date | None = None

    @property
    def stage_changed(self) -> bool:
        return self.stage_before is not None and self.stage_before != self.stage_after

    @property
    def queued_count(self) -> int:
        return len(self.queued)


def change_stage(
    db: Session, community: Community, target: Stage, *, actor: str, today: date,
    why: str, flow_run_id: str | None, extra: dict[str, Any] | None = None,
) -> str:
    """Move the CoP to `target` (the version column catches a concurrent change)."""
    before = community.stage
    require_transition(Stage(before), target, community.slug)
    community.stage = target.value
    audit.record(db, community, actor=actor, action="stage.changed", on_date=today, why=why,
                 before={"stage": before}, after={"stage": target.value, **(extra or {})},
                 flow_run_id=flow_run_id)
    db.flush()
    return before


def queue_email(
    db: Session, outcome: Outcome, *, key: str, community: Community, template: str,
    name: str, email: str | None, today: date, calendar: str | None = None,
    replies: Replies | None = None, **context: Any,
) -> bool:
    """Render and queue one email; True only when the key was not queued before.

    A reply reaches the convenor (or, for the convenor, the planning lead): the template is
    told who as `reply_to`, so its "reply to this email" names a real person. `replies`: the
    CoP's, when the caller queues many (read once); otherwise read here."""
    if not email:  # erased under the retention setting: nobody to write to
        return False
    if template in member_mail.MEMBER_TEMPLATES:
        member = member_mail.membership_for(community, email)
        if member is not None and member.emails_stopped and template in member_mail.NON_ESSENTIAL:
            return False  # they asked for no more of these (the web app, or a link in an email)
        context["member_links"] = member_mail.links(member) if member is not None else {}
    reply_to = (replies or replies_of(db, community)).to(email)
    rendered = render_email(template, community=community, recipient_name=name, reply_to=reply_to,
                            **context)
    added = enqueue(db, key=key, community=community, template=template,
                    to=Recipient(name=name, email=email), email=rendered, today=today,
                    calendar=calendar, reply_to=reply_to)
    if added:
        outcome.queued.append(key)
    return added

