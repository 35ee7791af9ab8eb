"""Withdraw: a draft that never launched, or a CoP that launched and never met, ends
(proposed|launching -> archived), so it can never be stuck and its people's details can be
erased in time like any archived CoP's (tasks/usecases/retention.py).

Anyone already invited (a launching CoP's members and the sponsors told of it) gets a short,
kind note; there is no sponsor report, as it never met; from now on no reports are due
(models.stages.REPORTING_STAGES). No archive bundle is written: there is no record of work to
keep beyond the database's own (charter, audit trail).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from models.db.tables import Community
from models.lifecycle import Stage
from models.roles import require_convenor
from models.stages import require_withdraw, withdraw_reason
from tasks.agenda import first_session_agenda
from tasks.email.calendar import Organiser, first_session_uid, session_invite
from tasks.storage import audit
from tasks.storage.queries import convenor_of, current_members, current_term, sponsors_of
from tasks.usecases.acting import ActorRef, acting_decider, actor_id, require_decider
from tasks.usecases.close import stage_change_id
from tasks.usecases.common import Outcome, change_stage, queue_email
from tasks.usecases.planning_sessions import open_plan


def check_withdraw(db: Session, slug: str, actor: ActorRef | None, reason: str) -> tuple[Community, str]:
    """Everything withdraw checks before it changes anything (the CLI asks this first)."""
    withdraw_reason(reason)
    community, who = acting_decider(db, slug, actor)
    require_convenor(require_decider(db, community, who), who, slug, f"withdraw {slug}")
    require_withdraw(Stage(community.stage), slug)
    return community, who


def withdraw(db: Session, slug: str, *, actor: ActorRef | None, reason: str, today: date,
             flow_run_id: str | None) -> Outcome:
    community, who = check_withdraw(db, slug, actor, reason)
    reason = withdraw_reason(reason)
    invited = community.stage == Stage.launching.value  # the invitations went out at launch
    before = change_stage(db, community, Stage.archived, actor=who, today=today, why=reason,
                          flow_run_id=flow_run_id, extra={"withdrawn": True})
    community.close_reason, community.archived_on = reason, today
    term = current_term(db, community)
    if term is not None:  # the first planning lead's term ends with the CoP
        term.ended_on = today
        audit.record(db, community, actor=who, action="lead.term-ended", on_date=today,
                     why="the CoP was withdrawn", before={"planning_lead": term.membership.person.name},
                     after={"planning_lead": None}, flow_run_id=flow_run_id)
    outcome = Outcome(slug=slug, stage_before=before, stage_after=Stage.archived.value,
                      actor_id=actor_id(db, who))
    if invited:
        _tell_the_invited(db, community, outcome, reason=reason, today=today)
    outcome.notes.append(f"{slug} is withdrawn (archived); {len(outcome.queued)} "
                         f"note{'s' * (len(outcome.queued) != 1)} to people already invited")
    return outcome


def _tell_the_invited(db: Session, community: Community, outcome: Outcome, *, reason: str,
                      today: date) -> None:
    """A short, kind note to each member invited and each sponsor told, not to the convenor."""
    slug, change = community.slug, stage_change_id(db, community)
    convenor = convenor_of(db, community)
    convenor_name = convenor.person.name if convenor else None
    cancel = cancelled_entry(db, community, Organiser(convenor_name, convenor.person.email if convenor else None))
    for m in current_members(db, community):
        if m.is_convenor:
            continue
        queue_email(db, outcome, key=f"withdrawn:{slug}:{change}:{m.person.email}", community=community,
                    template="withdrawn-notice", name=m.person.name, email=m.person.email,
                    today=today, reason=reason, convenor_name=convenor_name, sponsor=False,
                    calendar=cancel, cancelled=cancel is not None)
    for s in sponsors_of(db, community):
        # A sponsor hears that it will not go ahead; the reason may name people, so it stays here.
        queue_email(db, outcome, key=f"withdrawn:{slug}:{change}:{s.person.email}", community=community,
                    template="withdrawn-notice", name=s.person.name, email=s.person.email,
                    today=today, reason=None, convenor_name=convenor_name, sponsor=True)


def cancelled_entry(db: Session, community: Community, organiser: Organiser) -> str | None:
    """The calendar entry members hold for the first session (the launch's, or the last date
    planned), cancelled, so their calendars drop a session that will not happen; None if none."""
    plan = open_plan(db, community)
    if plan is not None:
        return session_invite(community, uid=plan.uid, starts_at=plan.starts_at, sequence=plan.sequence + 1,
                              agenda=plan.agenda, organiser=organiser, first=True, cancelled=True)
    if community.first_session is None:
        return None
    return session_invite(community, uid=first_session_uid(community.slug), starts_at=community.first_session,
                          sequence=1, agenda=first_session_agenda(), organiser=organiser, first=True,
                          cancelled=True)
