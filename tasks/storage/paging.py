"""Work over many CoPs in pages: one Prefect task per page, not per CoP (nor per row).

Plain functions, no Prefect: the flows' tasks call them, and so does the benchmark's bare
baseline, so both do exactly the same work.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

PAGE_SIZE = 100  # CoPs per task: Prefect's per-task cost is a few ms, a CoP's work about as much


def pages(items: Sequence[T], size: int | None = None) -> Iterator[list[T]]:
    """The items in pages of `size` (default COPFLOW_PAGE_SIZE, 100)."""
    if size is None:
        from tasks.storage.settings import get_settings

        size = get_settings().page_size
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


