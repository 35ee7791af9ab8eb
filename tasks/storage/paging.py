"""Work over many CoPs in pages: one Prefect task per page, not per CoP (nor per row).

Plain functions, no Prefect: the flows' tasks call them, and so does the benchmark's bare
baseline, so both do exactly the same work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from tasks.storage.db import session_scope
from tasks.usecases.common import Outcome

T = TypeVar("T")

PAGE_SIZE = 100  # CoPs per task: Prefect's per-task cost is a few ms, a CoP's work about as much


def pages(items: Sequence[T], size: int = PAGE_SIZE) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def each_in_own_transaction(use_case: Callable[..., Outcome], slugs: Sequence[str], *,
                            flow_run_id: str | None, **kwargs: Any) -> list[Outcome]:
    """Run the use case for each CoP, each in ONE transaction of its own."""
    outcomes = []
    for slug in slugs:
        with session_scope() as db:
            outcomes.append(use_case(db, slug, flow_run_id=flow_run_id, **kwargs))
    return outcomes


def page_in_one_transaction(page_use_case: Callable[..., list[Outcome]], slugs: Sequence[str], *,
                            flow_run_id: str | None, **kwargs: Any) -> list[Outcome]:
    """Run a use case that takes a whole page of CoPs, in ONE transaction for the page."""
    with session_scope() as db:
        return page_use_case(db, list(slugs), flow_run_id=flow_run_id, **kwargs)

