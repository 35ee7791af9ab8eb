"""Prefect tasks around the lifecycle use cases: one task per CoP or per page of CoPs, one per
batch of email.

Each use case runs in ONE transaction (stage change, audit entries and outbox rows commit
together). A task retry is harmless: the transaction either committed or did not, the
use cases refuse or skip work already done, and outbox keys dedupe. Delivery happens after
the commit, in its own task.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.runtime import flow_run

from tasks.email.delivery import deliver_pending
from tasks.rendering import markdown_text
from tasks.storage.db import session_scope
from tasks.storage.paging import (
    each_in_own_transaction,
    page_in_one_transaction,
    pages,
    pending_for,
)
from tasks.usecases.common import Outcome

STAGE_CHANGED = "copflow.community.stage-changed"
PROPOSED_CLOSE = "copflow.community.close-proposed"


def current_flow_run_id() -> str | None:
    run_id = flow_run.id
    return str(run_id) if run_id else None


def in_transaction(use_case: Callable[..., Outcome], *args: Any, **kwargs: Any) -> Outcome:
    with session_scope() as db:
        return use_case(db, *args, flow_run_id=current_flow_run_id(), **kwargs)


@task(name="apply to one CoP", task_run_name="{name}: {slug}", cache_policy=NO_CACHE)
def apply(name: str, slug: str, use_case: Callable[..., Outcome], **kwargs: Any) -> Outcome:
    """Run one lifecycle use case for one CoP in one transaction."""
    return in_transaction(use_case, slug, **kwargs)


@dataclass(frozen=True)
class PageOutcomes:
    """A page's outcomes as one value: Prefect links each item a task returns to the task's
    state for the rest of the run, so a bare list would cost an entry per CoP."""

    outcomes: list[Outcome]


@task(name="apply to a page of CoPs", task_run_name="{name}: {slugs[0]} and {more} more",
      cache_policy=NO_CACHE)
def apply_page(name: str, slugs: list[str], use_case: Callable[..., Any], more: int = 0,
               whole_page: bool = False, **kwargs: Any) -> PageOutcomes:
    """Run one lifecycle use case over a page of CoPs: each CoP in its own transaction, or
    (whole_page) a use case that takes the page at once, in one transaction."""
    run = page_in_one_transaction if whole_page else each_in_own_transaction
    return PageOutcomes(run(use_case, slugs, flow_run_id=current_flow_run_id(), **kwargs))


def apply_each(name: str, slugs: list[str], use_case: Callable[..., Any], *,
               whole_page: bool = False, **kwargs: Any) -> list[Outcome]:
    """Run the use case for every CoP, one task per page of them."""
    outcomes: list[Outcome] = []
    for page in pages(slugs):
        outcomes += apply_page(name, page, use_case, more=len(page) - 1, whole_page=whole_page,
                               **kwargs).outcomes
    return outcomes


@task(name="find communities", task_run_name="find: {what}", cache_policy=NO_CACHE)
def find(what: str, query: Callable[..., list[str]], **kwargs: Any) -> list[str]:
    with session_scope() as db:
        return query(db, **kwargs)


@task(name="deliver email", task_run_name="deliver: {label}", cache_policy=NO_CACHE)
def deliver(slugs: list[str], label: str) -> dict[str, list[str]]:
    """Deliver these CoPs' pending outbox rows (this run's, and any a crashed run left)."""
    with session_scope() as db:
        ids = pending_for(db, slugs)
    report = deliver_pending(ids)
    return {"sent": report.sent, "failed": report.failed, "deferred": report.deferred}


def announce(flow_name: str, outcome: Outcome) -> None:
    """A Prefect event for each stage change, so operations can hang automations on it."""
    if outcome.stage_changed:
        emit_event(event=STAGE_CHANGED,
                   resource={"prefect.resource.id": f"copflow.community.{outcome.slug}",
                             "prefect.resource.name": outcome.slug},
                   related=[{"prefect.resource.id": f"copflow.flow.{flow_name}",
                             "prefect.resource.role": "flow"}],
                   payload={"from": outcome.stage_before, "to": outcome.stage_after,
                            "actor": outcome.actor})
    if outcome.detail.get("close_proposed"):
        emit_event(event=PROPOSED_CLOSE,
                   resource={"prefect.resource.id": f"copflow.community.{outcome.slug}"},
                   payload={"signals": outcome.detail.get("natural_end", [])})


def artifact_key(flow_name: str, slug: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", f"{flow_name}-{slug}".lower())).strip("-")


def summarise(flow_name: str, slug: str, outcomes: list[Outcome],
              delivered: dict[str, list[str]] | None = None) -> str:
    """A markdown artifact saying what the flow did (no email addresses in it). Every value is
    shown as text (markdown_text): a name or reason in a note cannot become a heading or link."""
    md = markdown_text
    lines = [f"# {md(flow_name)}: {md(slug)}", ""]
    for o in outcomes:
        if o.stage_changed:
            lines.append(f"- **{md(o.slug)}**: {md(str(o.stage_before))} → {md(str(o.stage_after))}")
        lines += [f"- {md(note)}" for note in o.notes]
        if o.queued:
            lines.append(f"- {len(o.queued)} email(s) queued")
    if not outcomes:
        lines.append("- nothing was due")
    if delivered is not None and any(delivered.values()):
        lines.append(f"- delivered: {len(delivered['sent'])} sent, {len(delivered['failed'])} failed, "
                     f"{len(delivered['deferred'])} to retry")
    text = "\n".join(lines) + "\n"
    create_markdown_artifact(key=artifact_key(flow_name, slug), markdown=_no_addresses(text),
                             description=f"What the {flow_name} flow did")
    return text


def _no_addresses(text: str) -> str:
    return re.sub(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", "[address]", text)
