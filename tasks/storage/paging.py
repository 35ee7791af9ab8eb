"""Work over many CoPs in pages: one Prefect task per page, not per CoP (nor per row).

Plain functions, no Prefect: the flows' tasks call them, and so does the benchmark's bare
baseline, so both do exactly the same work.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db.tables import Community, OutboxMessage

T = TypeVar("T")

PAGE_SIZE = 100  # CoPs per task: Prefect's per-task cost is a few ms, a CoP's work about as much


def pages(items: Sequence[T], size: int = PAGE_SIZE) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def pending_for(db: Session, slugs: Sequence[str]) -> list[int]:
    """Outbox rows still to send for these CoPs (this run's, and any a crashed run left)."""
    ids: list[int] = []
    for page in pages(slugs, 500):
        ids += db.scalars(
            select(OutboxMessage.id).join(Community, OutboxMessage.community_id == Community.id)
            .where(Community.slug.in_(page), OutboxMessage.status.in_(("pending", "sending")))
            .order_by(OutboxMessage.id))
    return sorted(ids)
