"""Prefect tasks around the lifecycle use cases: one task per thing a flow does, named for it,
each calling its use case with typed arguments.

Each use case runs in ONE transaction (stage change, audit entries and outbox rows commit
together). Delivery happens after the commit, in its own task (tasks/email_tasks.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ParamSpec, Protocol, TypeVar

from prefect import Task, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.runtime import flow_run
from sqlalchemy.exc import OperationalError

from models.masking import masked
from models.stories import Consent
from models.vocabulary import SessionFormat
from tasks.rendering import render
from tasks.run_tally import DeliveryCounts, RunTally
from tasks.storage.db import session_scope
from tasks.usecases import archive as archiving
from tasks.usecases import close as closing
from tasks.usecases import health as checking
from tasks.usecases import launch as launching
from tasks.usecases import planning_sessions, sessions
from tasks.usecases import rotate as rotating
from tasks.usecases import step_down as stepping_down
from tasks.usecases import withdraw as withdrawing
from tasks.usecases.acting import ActorRef, known_person
from tasks.usecases.common import Outcome

P = ParamSpec("P")
R = TypeVar("R")

STAGE_CHANGED = "copflow.community.stage-changed"
PROPOSED_CLOSE = "copflow.community.close-proposed"


def current_flow_run_id() -> str | None:
    run_id = flow_run.id
    return str(run_id) if run_id else None


def transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a use-case task only when the database failed it (a lock wait, a dropped
    connection). That is safe: the task's one transaction either committed or did not, and a
    second try refuses or skips work already done. A refusal, bad input or a concurrent
    change that won would only say the same again, later."""
    try:
        state.result()
    except OperationalError:
        return True
    except Exception:
        return False
    return False


def use_case_task(name: str, run_name: str) -> Callable[[Callable[P, R]], Task[P, R]]:
    """A Prefect task around one use case, retried as transient() says. Its result is not kept
    in Prefect's result storage: an Outcome lists outbox keys, which name addresses (DESIGN 6a);
    the flow's own result, which the command line reads back, carries none."""
    return task(name=name, task_run_name=run_name, retries=2, retry_delay_seconds=1,
                retry_condition_fn=transient, cache_policy=NO_CACHE, persist_result=False)


@use_case_task("launch-cop", "launch: {slug}")
def launch_cop(slug: str, *, actor: ActorRef | None, today: date) -> Outcome:
    with session_scope() as db:
        return launching.launch(db, slug, actor=actor, today=today, flow_run_id=current_flow_run_id())


@use_case_task("rotate-lead", "rotate: {slug}")
def rotate_lead(slug: str, *, actor: ActorRef | None, today: date, scheduled: bool = False) -> Outcome:
    with session_scope() as db:
        return rotating.rotate(db, slug, actor=actor, today=today, scheduled=scheduled,
                               flow_run_id=current_flow_run_id())


@use_case_task("close-cop", "close: {slug}")
def close_cop(slug: str, *, actor: ActorRef | None, reason: str, successor: str | None,
              notice_days: int, today: date) -> Outcome:
    with session_scope() as db:
        return closing.close(db, slug, actor=actor, reason=reason, successor=successor,
                             notice_days=notice_days, today=today, flow_run_id=current_flow_run_id())


@use_case_task("continue-cop", "continue: {slug}")
def continue_cop(slug: str, *, actor: ActorRef | None, today: date) -> Outcome:
    with session_scope() as db:
        return closing.continue_community(db, slug, actor=actor, today=today,
                                          flow_run_id=current_flow_run_id())


@use_case_task("withdraw-cop", "withdraw: {slug}")
def withdraw_cop(slug: str, *, actor: ActorRef | None, reason: str, today: date) -> Outcome:
    with session_scope() as db:
        return withdrawing.withdraw(db, slug, actor=actor, reason=reason, today=today,
                                    flow_run_id=current_flow_run_id())


@use_case_task("step-down", "step-down: {slug}")
def step_down_member(slug: str, *, member: int, leaving: bool, actor: ActorRef | None,
                     today: date) -> Outcome:
    with session_scope() as db:
        return stepping_down.step_down(db, slug, member, leaving=leaving, actor=actor, today=today,
                                       flow_run_id=current_flow_run_id())


@use_case_task("record-session", "record-session: {slug}")
def record_session(slug: str, *, held_on: date, attended: list[ActorRef], format: SessionFormat | None,
                   topics: list[str], methods: list[str], outputs: list[str], stories: list[str],
                   consent: Consent, teller: ActorRef | None, guests: int,
                   actor: ActorRef | None, today: date) -> Outcome:
    with session_scope() as db:
        told_by = known_person(db, teller).email if teller is not None else None  # an id from the flow
        return sessions.session_outcome(db, slug, held_on=held_on, attended=attended, format=format,
                                        topics=topics, methods=methods, outputs=outputs, stories=stories,
                                        consent=consent, teller=told_by, guests=guests,
                                        actor=actor, today=today, flow_run_id=current_flow_run_id())


@use_case_task("plan-session", "plan-session: {slug}")
def plan_session(slug: str, *, starts_at: datetime, agenda: list[str], actor: ActorRef | None,
                 today: date) -> Outcome:
    with session_scope() as db:
        return planning_sessions.plan_session(db, slug, starts_at=starts_at, agenda=agenda, actor=actor,
                                              today=today, flow_run_id=current_flow_run_id())


@use_case_task("archive-cop", "archive: {slug}")
def archive_cop(slug: str, *, actor: ActorRef | None, now: bool, today: date,
                scheduled: bool = False) -> Outcome:
    with session_scope() as db:
        return archiving.archive(db, slug, actor=actor, now=now, today=today, scheduled=scheduled,
                                 flow_run_id=current_flow_run_id())


@dataclass(frozen=True)
class PageOutcomes:
    """A page's outcomes as one value: Prefect links each item a task returns to the task's
    state for the rest of the run, so a bare list would cost an entry per CoP."""

    outcomes: list[Outcome]


@use_case_task("check-health-page", "health: {slugs[0]} and {more} more")
def check_health_page(slugs: list[str], *, today: date, figures: bool, more: int = 0) -> PageOutcomes:
    """Check a page of active CoPs in one transaction (figures=False: leave them in the records)."""
    with session_scope() as db:
        return PageOutcomes(checking.check_page(db, slugs, today=today, figures=figures,
                                                flow_run_id=current_flow_run_id()))


# Reads change nothing, so a retry is always safe.
@task(name="find-active-cops", task_run_name="find: active", retries=2, retry_delay_seconds=1,
      cache_policy=NO_CACHE)
def find_active() -> list[str]:
    with session_scope() as db:
        return checking.active_slugs(db)


@task(name="find-rotations-due", task_run_name="find: rotation due", retries=2, retry_delay_seconds=1,
      cache_policy=NO_CACHE)
def find_rotations_due() -> list[str]:
    with session_scope() as db:
        return rotating.due_for_rotation(db)


@task(name="find-archives-due", task_run_name="find: notice ended", retries=2, retry_delay_seconds=1,
      cache_policy=NO_CACHE)
def find_archives_due(today: date) -> list[str]:
    with session_scope() as db:
        return archiving.due_for_archive(db, today)


def announce(flow_name: str, outcome: Outcome) -> None:
    """A Prefect event for each stage change, so operations can hang automations on it."""
    if outcome.stage_changed:
        emit_event(event=STAGE_CHANGED,
                   resource={"prefect.resource.id": f"copflow.community.{outcome.slug}",
                             "prefect.resource.name": outcome.slug},
                   related=[{"prefect.resource.id": f"copflow.flow.{flow_name}",
                             "prefect.resource.role": "flow"}],
                   # Who acted by person id (None: the schedule); Prefect's stores get no address.
                   payload={"from": outcome.stage_before, "to": outcome.stage_after,
                            "actor_id": outcome.actor_id, "by": "person" if outcome.actor_id else "schedule"})
    if outcome.close_proposed:
        emit_event(event=PROPOSED_CLOSE,
                   resource={"prefect.resource.id": f"copflow.community.{outcome.slug}"},
                   payload={"signals": outcome.natural_end})


def artifact_key(flow_name: str, slug: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", f"{flow_name}-{slug}".lower())).strip("-")


class Summarised(Protocol):
    """What the summary shows of each CoP: an Outcome, or the flow's smaller result made from it."""

    @property
    def slug(self) -> str: ...
    @property
    def stage_before(self) -> str | None: ...
    @property
    def stage_after(self) -> str | None: ...
    @property
    def notes(self) -> list[str]: ...
    @property
    def stage_changed(self) -> bool: ...
    @property
    def queued_count(self) -> int: ...


def summarise(flow_name: str, slug: str, outcomes: Sequence[Summarised],
              delivered: DeliveryCounts | None = None, *, artifact: bool = True,
              tally: RunTally | None = None) -> str:
    """What the flow did, as markdown (templates/reports/flow-summary.md); and (artifact) as an
    artifact, with no email addresses in it. A run over every CoP (tally) shows its counts and
    the CoPs it names (tasks/run_tally.py)."""
    context = {"flow_name": flow_name, "slug": slug, "outcomes": outcomes, "delivered": delivered,
               "tally": tally}
    text = render("reports/flow-summary.md", **context)
    if artifact:
        create_markdown_artifact(key=artifact_key(flow_name, slug), markdown=_no_addresses(text),
                                 description=render("reports/flow-summary.description.txt", **context).strip())
    return text


def _no_addresses(text: str) -> str:
    return masked(text)  # addresses and phone numbers: an artifact is kept in Prefect's database
