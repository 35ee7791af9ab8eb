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
from typing import Any

from prefect.futures import PrefectDistributedFuture
from prefect.runtime import flow_run
from prefect.settings import get_current_settings

from flows._compose import RunResults
from tasks.lifecycle_tasks import PageOutcomes
from tasks.page_tasks import PageDone
from tasks.storage.settings import get_settings

# How long the flow waits for one page's result. A page no worker takes fails the run then
# (start a task worker: docs/operations.md), rather than leaving it waiting for ever.
PAGE_WAIT_SECONDS = 3600.0

Inline = Callable[[list[str]], PageOutcomes]
# (page, run id, page number) -> the page's background task run
Spread = Callable[[list[str], str, int], PrefectDistributedFuture[PageDone]]


def spreading() -> bool:
    """Task workers reach pages through a Prefect server; with the embedded API none could."""
    if get_settings().page_workers == 0:
        return False
    if get_current_settings().api.url is None:
        logging.getLogger("copflow.pages").warning("COPFLOW_PAGE_WORKERS is set but PREFECT_API_URL is not: "
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
    waiting: deque[PrefectDistributedFuture[PageDone]] = deque()
    window = 2 * get_settings().page_workers
    for number, page in enumerate(pages):
        waiting.append(spread(page, run_id, number))
        if len(waiting) >= window:
            _take(results, waiting.popleft())
    while waiting:
        _take(results, waiting.popleft())
    return results


def _take(results: RunResults, future: PrefectDistributedFuture[Any]) -> None:
    done: PageDone = _result(future)
    results.add(done.outcomes)
    results.page_delivered(sent=done.sent, failed=done.failed, deferred=done.deferred,
                           held=done.held, for_worker=done.for_worker, stopped=done.stopped)


def _result(future: PrefectDistributedFuture[Any], tries: int = 20) -> Any:
    """The page's result. Under load Prefect may read a just-made run before its first state
    ("has no state"): that is a read too early, not a failed page, so read again."""
    for attempt in range(tries):
        try:
            return future.result(timeout=PAGE_WAIT_SECONDS)
        except RuntimeError as exc:
            if "has no state" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")
