"""Archive: final sponsor report, the archive bundle, closing -> archived (one transaction)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db.tables import (
    Community,
)
from models.lifecycle import Stage
from models.stages import archive_due, require_archive
from tasks.archive.bundle import bundle_data, write_bundle
from tasks.crashpoints import crash_point
from tasks.storage import audit
from tasks.storage.queries import current_term, get_community
from tasks.usecases.acting import ActorRef, acting_decider, actor_id
from tasks.usecases.common import SCHEDULE, Outcome, change_stage
from tasks.usecases.sponsor_reports import queue_final_report


def check_archive(db: Session, slug: str, actor: ActorRef | None, *, now: bool, today: date) -> tuple[Community, str]:
    community, who = acting_decider(db, slug, actor)
    require_archive(Stage(community.stage), slug, notice_ends_on=community.notice_ends_on,
                    today=today, now=now)
    return community, who


def due_for_archive(db: Session, today: date) -> list[str]:
    """models.stages.archive_due, asked of every CoP at once in SQL."""
    return list(db.scalars(select(Community.slug).where(
        Community.stage == Stage.closing.value, Community.notice_ends_on <= today)
        .order_by(Community.slug)))


def archive(db: Session, slug: str, *, actor: ActorRef | None, now: bool, today: date,
            flow_run_id: str | None, scheduled: bool = False) -> Outcome:
    if scheduled:
        community, who = get_community(db, slug, for_update=True), SCHEDULE
        if not archive_due(Stage(community.stage), community.notice_ends_on, today):
            return Outcome(slug=slug, actor_id=actor_id(db, who), notes=[f"{slug}: not due for archiving"])
    else:
        community, who = check_archive(db, slug, actor, now=now, today=today)
    outcome = Outcome(slug=slug, actor_id=actor_id(db, who))
    outcome.queued += queue_final_report(db, community, today=today, flow_run_id=flow_run_id)
    if outcome.queued:
        audit.record(db, community, actor=who, action="report.final-queued", on_date=today,
                     after={"sponsors": len(outcome.queued)}, flow_run_id=flow_run_id)
    before = change_stage(db, community, Stage.archived, actor=who, today=today,
                          why="notice period ended" if not now else "archived on request",
                          flow_run_id=flow_run_id)
    crash_point("archive.stage-changed")
    community.archived_on = today
    term = current_term(db, community)
    if term is not None:  # the last planning lead's term ends with the CoP
        term.ended_on = today
        audit.record(db, community, actor=who, action="lead.term-ended", on_date=today,
                     why="the CoP is archived", before={"planning_lead": term.membership.person.name},
                     after={"planning_lead": None}, flow_run_id=flow_run_id)
    db.flush()
    uri = write_bundle(bundle_data(db, community, today=today), slug)
    community.archive_uri = uri
    audit.record(db, community, actor=who, action="archive.written", on_date=today,
                 after={"archive": uri}, flow_run_id=flow_run_id)
    outcome.stage_before, outcome.stage_after = before, Stage.archived.value
    outcome.archive = uri
    outcome.notes.append(f"{slug} is archived at {uri}; final report queued for "
                         f"{len(outcome.queued)} sponsor(s)")
    return outcome

