"""A run's pages, done in the flow's own process or spread over task workers (COPFLOW_PAGE_WORKERS).

In-process (the default) each page is a task of this flow run, one after another, as ever.
Spread, each page is a background task run (tasks/page_tasks.py) that any task worker serving
the page tasks takes, and the flow reads the pages' small results back in order. At most twice
COPFLOW_PAGE_WORKERS pages wait at once, so the flow's memory and Prefect's queue stay flat.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prefect.futures import PrefectDistributedFuture
from prefect.runtime import flow_run
from prefect.settings import get_current_settings

from flows._compose import RunResults
from tasks.lifecycle_tasks import PageOutcomes
from tasks.page_tasks import PageDone
from tasks.storage.settings import get_settings

# A page a worker took and never finished (its process killed) would keep the run waiting for
# ever: the flow waits COPFLOW_PAGE_LEASE_SECONDS for each page, then hands it out again, up to
# COPFLOW_PAGE_TRIES times in all, then fails the run (docs/operations.md). A page done twice
# sends nothing twice: each email is keyed in the outbox, and a page's result is cached per run.
log = logging.getLogger("copflow.pages")

Inline = Callable[[list[str]], PageOutcomes]
# (page, run id, page number) -> the page's background task run
Spread = Callable[[list[str], str, int], PrefectDistributedFuture[PageDone]]


def spreading() -> bool:
    """Task workers reach pages through a Prefect server; with the embedded API none could."""
    if get_settings().page_workers == 0:
        return False
    if get_current_settings().api.url is None:
        log.warning("COPFLOW_PAGE_WORKERS is set but PREFECT_API_URL is not: "
                                 "task workers need a Prefect server, so this run does its pages here")
        return False
    return True


def each_page(results: RunResults, pages: Iterable[list[str]], inline: Inline,
              spread: Spread | None = None) -> RunResults:
    """Do every page, in-process or (spread given and COPFLOW_PAGE_WORKERS set) on task workers."""
    if spread is None or not spreading():
        for page in pages:
            results.add(inline(page).outcomes)
        return results
    run_id = str(flow_run.id or "")
    waiting: deque[Handed] = deque()
    window = 2 * get_settings().page_workers
    for number, page in enumerate(pages):
        waiting.append(Handed(page, number, spread(page, run_id, number)))
        if len(waiting) >= window:
            _take(results, waiting.popleft(), lambda h: spread(h.page, run_id, h.number))
    while waiting:
        _take(results, waiting.popleft(), lambda h: spread(h.page, run_id, h.number))
    return results


@dataclass
class Handed:
    """A page handed to the task workers: its CoPs, its number and its background task run."""

    page: list[str]
    number: int
    future: PrefectDistributedFuture[PageDone]


def _take(results: RunResults, handed: Handed, again: Callable[[Handed], PrefectDistributedFuture[PageDone]]) -> None:
    done = _leased(handed, again)
    results.add(done.outcomes)
    results.delivered.merge(done.delivered)


def _leased(handed: Handed, again: Callable[[Handed], PrefectDistributedFuture[PageDone]]) -> PageDone:
    """The page's result, handing the page out again each time its lease runs out."""
    settings = get_settings()
    for attempt in range(1, settings.page_tries + 1):
        try:
            done: PageDone = _result(handed.future, settings.page_lease_seconds)
            return done
        except TimeoutError:
            lost = handed.future.task_run_id
            _crashed(lost, settings.page_lease_seconds)
            if attempt == settings.page_tries:
                raise PageLost(handed.number, attempt, settings.page_lease_seconds) from None
            log.warning("page %d (task run %s) not done within %.0f s: its worker may have died; "
                        "handing it out again (try %d of %d)", handed.number, lost,
                        settings.page_lease_seconds, attempt + 1, settings.page_tries)
            handed.future = again(handed)
    raise AssertionError("unreachable")


class PageLost(RuntimeError):
    def __init__(self, number: int, tries: int, lease: float) -> None:
        super().__init__(f"page {number} was not done in {tries} tries of {lease:.0f} s each: are the task "
                         "workers running? (`prefect task serve --module tasks.page_tasks`, docs/operations.md)")


def _crashed(task_run_id: UUID, lease: float) -> None:
    """Mark a page's lost run Crashed, so the UI does not show it running for ever (best effort:
    its worker may yet finish it, which the outbox keys make harmless)."""
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    try:
        with get_client(sync_client=True) as client:
            client.set_task_run_state(task_run_id, Crashed(message=f"no result within the page lease ({lease:.0f} s)"),
                                      force=True)
    except Exception as exc:  # the page is handed out again whatever this says
        log.warning("could not mark task run %s crashed: %s", task_run_id, exc)


def _result(future: PrefectDistributedFuture[Any], timeout: float, tries: int = 20) -> Any:
    """The page's result. Under load Prefect may read a just-made run before its first state
    ("has no state"): that is a read too early, not a failed page, so read again."""
    for attempt in range(tries):
        try:
            return future.result(timeout=timeout)
        except RuntimeError as exc:
            if "has no state" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")
